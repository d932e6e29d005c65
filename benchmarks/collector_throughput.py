"""Collector throughput: OTLP/HTTP into embedded ClickHouse, with realistic LLM spans (~30 attributes each).

What it prints, all measured in this run on this machine:
- ceilings: bare protobuf parse of the requests; our decode (parse + rows as Arrow columns); a bare
  clickhouse-connect insert of the same rows into chDB (its own temporary directory, with the same schema);
- the decoder pool's round trip: the CPU (this process plus its one worker) per span of decoding the requests in a
  worker process, with bodies and rows through shared memory as the collector does, and through the pool's pipes;
- capacity: the collector (a separate process, as deployed) driven closed-loop by sender threads: sustained spans/s
  *stored* (rows that reached ClickHouse, from the collector's own /metrics, between the first and the last batch that
  landed in the window), p50/p99 request latency, and the CPU
  the collector and its decoder workers spent per accepted span (the figure that least depends on what else runs);
- 2x overload: open-loop senders offering twice that capacity for the same duration: stored spans/s, the share of
  requests pushed back (429/503 with Retry-After), p99 latency of accepted requests, and the collector's peak RSS
  (VmHWM) against its RSS at the end of the capacity phase: bounded memory means the overload phase does not grow it.

Run: python benchmarks/collector_throughput.py [--seconds 20] [--spans-per-request 512] [--senders 6]
(FIRSTTOKEN_DECODE_WORKERS in the environment is passed to the collector: 0 decodes in the receiving threads.)
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.synthetic import trace_request
from firsttoken_collector.tables import INSERT_COLUMNS, OTEL_TRACES

ROOT = Path(__file__).resolve().parents[1]


def _payloads(count: int, spans: int) -> list[bytes]:
    rng = random.Random(7)
    return [trace_request(rng, spans, service="bench")[0].SerializeToString() for _ in range(count)]


def ceiling_parse(payloads: list[bytes], spans: int) -> float:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    started = time.perf_counter()
    rounds = 0
    while time.perf_counter() - started < 2.0:
        for payload in payloads:
            ExportTraceServiceRequest.FromString(payload)
        rounds += 1
    return rounds * len(payloads) * spans / (time.perf_counter() - started)


def ceiling_decode(payloads: list[bytes], spans: int) -> float:
    started = time.perf_counter()
    rounds = 0
    while time.perf_counter() - started < 3.0:
        for payload in payloads:
            decode_request("traces", payload, "application/x-protobuf")
        rounds += 1
    return rounds * len(payloads) * spans / (time.perf_counter() - started)


def pool_round_trip(payloads: list[bytes], spans: int) -> dict[str, float]:
    """CPU per span (this process + the worker) of decoding through a one-worker DecoderPool, one request at a time:
    with shared-memory slots (the collector's default) and with the pipes only (`slot_bytes=0`), alternated."""
    from firsttoken_collector.otlp.decoder_pool import DecoderPool

    cpu: dict[str, list[float]] = {"shared memory": [], "pipes": []}
    pools = {"shared memory": DecoderPool(1), "pipes": DecoderPool(1, slot_bytes=0)}
    try:
        for _ in range(3):
            for name, pool in pools.items():
                assert pool._pool is not None
                pids = [os.getpid(), *pool._pool._processes]
                before = sum(_own_cpu_seconds(pid) for pid in pids)
                for payload in payloads:
                    pool.decode("traces", payload, "application/x-protobuf")
                cpu[name].append((sum(_own_cpu_seconds(pid) for pid in pids) - before) / (len(payloads) * spans))
    finally:
        for pool in pools.values():
            pool.close()
    return {name: min(values) * 1e6 for name, values in cpu.items()}


def ceiling_insert(payloads: list[bytes], spans: int, workdir: Path) -> float:
    """Bare insert of the same rows, same schema (migrations included, so the materialized views run too)."""
    code = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from benchmarks.collector_throughput import _payloads
from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.schema import migrate
from firsttoken_collector.tables import INSERT_COLUMNS, OTEL_TRACES
import clickhouse_connect
client = clickhouse_connect.get_client(dsn="chdb://{workdir / "bare"}")
migrate(client, database="firsttoken")
payloads = _payloads({len(payloads)}, {spans})
from firsttoken_collector.pipeline.batch_writer import join_blocks
block = join_blocks([decode_request("traces", p, "application/x-protobuf")[0].blocks[OTEL_TRACES] for p in payloads])
data = block.data
rows = {len(payloads) * spans}
best = 0.0
for attempt in range(3):
    started = time.perf_counter()
    client.raw_insert("firsttoken.otel_traces", list(INSERT_COLUMNS[OTEL_TRACES]), insert_block=data,
                      fmt=block.fmt)
    best = max(best, rows / (time.perf_counter() - started))
print(best)
client.close()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


# ---- the collector under load --------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _written_rows(port: int) -> float:
    _, text = _get(port, "/metrics")
    total = 0.0
    for line in text.splitlines():
        if line.startswith("firsttoken_collector_written_rows_total") and 'table="otel_traces"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _pushed_back_causes(port: int) -> dict[str, float]:
    """The collector's own count of requests it pushed back, by cause (queue_full, decoders_busy, ...)."""
    _, text = _get(port, "/metrics")
    causes: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("firsttoken_collector_pushed_back_requests_total{"):
            cause = line.split('cause="', 1)[1].split('"', 1)[0]
            causes[cause] = causes.get(cause, 0.0) + float(line.rsplit(" ", 1)[1])
    return causes


def _own_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of the collector plus its decoder worker processes so far."""
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    return sum(_own_cpu_seconds(each) for each in pids)


def _rss_kib(pid: int, field: str) -> int:
    """`field` (VmRSS / VmHWM) of the collector plus its decoder worker processes."""
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Load:
    """Sender threads posting pre-serialized requests; closed loop (`rate=None`) or paced to `rate` requests/s."""

    def __init__(self, port: int, payloads: list[bytes], senders: int, rate: float | None) -> None:
        self.port = port
        self.payloads = payloads
        self.senders = senders
        self.rate = rate
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _sender(self, index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        interval = self.senders / self.rate if self.rate else 0.0
        next_at = time.perf_counter() + index * (interval / max(1, self.senders))
        i = index
        try:
            while not self._stop.is_set():
                if interval:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    next_at += interval
                payload = self.payloads[i % len(self.payloads)]
                i += self.senders
                started = time.perf_counter()
                try:
                    connection.request(
                        "POST", "/v1/traces", body=payload, headers={"Content-Type": "application/x-protobuf"}
                    )
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except OSError:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                    status = 0
                elapsed = time.perf_counter() - started
                with self._lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    if status == 200:
                        self.latencies.append(elapsed)
                if status in (429, 503):
                    # as the OTLP exporters do: wait Retry-After (capped, so a paced sender keeps its share)
                    retry_after = float(response.getheader("Retry-After") or 1)
                    self._stop.wait(min(retry_after, 1.0))
                    next_at = max(next_at, time.perf_counter())
        finally:
            connection.close()

    def run(self, seconds: float) -> None:
        threads = [threading.Thread(target=self._sender, args=(i,), daemon=True) for i in range(self.senders)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self._stop.set()
        for thread in threads:
            thread.join(30)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class WrittenRows:
    """Samples the collector's written-rows counter during a phase. Rows land a batch at a time (every few seconds
    under load), so the counter's change over a fixed window is off by up to a batch either way; the stored rate is
    taken between the first and the last batch that landed in the window instead."""

    def __init__(self, port: int, interval: float = 0.1) -> None:
        self.port = port
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.perf_counter(), _written_rows(self.port)))
            except OSError:
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> WrittenRows:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def rate(self) -> float:
        """Rows per second from the first change of the counter to its last (0 with fewer than two batches)."""
        pairs = zip(self.samples[1:], self.samples, strict=False)
        changes = [(at, rows) for (at, rows), (_, previous) in pairs if rows > previous]
        if len(changes) < 2:
            return 0.0
        (first_at, first_rows), (last_at, last_rows) = changes[0], changes[-1]
        return (last_rows - first_rows) / (last_at - first_at)


def _phase(port: int, payloads: list[bytes], senders: int, rate: float | None, seconds: float) -> dict[str, Any]:
    causes_before = _pushed_back_causes(port)
    started = time.perf_counter()
    load = Load(port, payloads, senders, rate)
    with WrittenRows(port) as written:
        load.run(seconds)
    elapsed = time.perf_counter() - started
    causes = {cause: n - causes_before.get(cause, 0.0) for cause, n in _pushed_back_causes(port).items()}
    total = sum(load.statuses.values())
    pushed_back = sum(n for status, n in load.statuses.items() if status in (429, 503))
    return {
        "stored_spans_per_s": written.rate(),
        "accepted_requests": load.statuses.get(200, 0),
        "requests_per_s": total / elapsed,
        "accepted_per_s": load.statuses.get(200, 0) / elapsed,
        "pushed_back_share": pushed_back / total if total else 0.0,
        "pushed_back_causes": ", ".join(f"{cause} {n:.0f}" for cause, n in sorted(causes.items()) if n) or "none",
        "errors": sum(n for status, n in load.statuses.items() if status not in (200, 429, 503)),
        "p50_ms": _pct(load.latencies, 0.50) * 1000,
        "p99_ms": _pct(load.latencies, 0.99) * 1000,
    }


def run_collector_phases(payloads: list[bytes], spans: int, senders: int, seconds: float, workdir: Path) -> None:
    port = _free_port()
    # The collector's own defaults (queue, batches), as deployed; FIRSTTOKEN_* settings in the environment apply.
    # (Until 2026-11-27 the queue was pinned at 64 MiB, less than one 50,000-row batch of Arrow rows: the closed loop
    # itself hit "queue full" and its senders waited out Retry-After.)
    env = {**os.environ, "FIRSTTOKEN_WAL_FSYNC": os.environ.get("FIRSTTOKEN_WAL_FSYNC", "1")}
    log = open(workdir / "collector.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "firsttoken_collector.cli",
            "collector",
            "--data-dir",
            str(workdir / "data"),
            "--port",
            str(port),
            "--grpc-port",
            "-1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("collector did not start: " + (workdir / "collector.log").read_text()[-2000:])
            time.sleep(0.2)
        _phase(port, payloads, senders, None, 6.0)  # warm-up: past the first batch
        cpu_before, started = _cpu_seconds(process.pid), time.monotonic()
        capacity = _phase(port, payloads, senders, None, seconds)
        cpu_used = _cpu_seconds(process.pid) - cpu_before
        # per span accepted in the window: acceptance is continuous, storage lands a batch at a time (in steady state
        # the window pays for about as much earlier data as it leaves for later)
        spans_accepted = capacity["accepted_requests"] * spans
        cores_busy = cpu_used / (time.monotonic() - started)
        rss_after_capacity = _rss_kib(process.pid, "VmRSS")
        offered = 2 * capacity["stored_spans_per_s"] / spans  # requests/s at twice what it sustained
        cpu_before, overload_started = _cpu_seconds(process.pid), time.monotonic()
        overload = _phase(port, payloads, senders * 4, offered, seconds)
        overload_cores = (_cpu_seconds(process.pid) - cpu_before) / (time.monotonic() - overload_started)
        peak = _rss_kib(process.pid, "VmHWM")
        rss_end = _rss_kib(process.pid, "VmRSS")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()

    print("\n== collector (separate process), OTLP/HTTP protobuf, embedded ClickHouse")
    print(
        f"closed loop, {senders} senders      : {capacity['stored_spans_per_s']:10,.0f} spans/s stored, "
        f"p50 {capacity['p50_ms']:.1f} ms, p99 {capacity['p99_ms']:.1f} ms, "
        f"pushed back {capacity['pushed_back_share']:.1%} ({capacity['pushed_back_causes']}), "
        f"errors {capacity['errors']:.0f}"
    )
    print(
        f"collector CPU (with its workers)  : {cpu_used / max(spans_accepted, 1) * 1e6:10.1f} us per accepted span "
        f"({cores_busy:.2f} cores busy in the closed loop)"
    )
    print(
        f"2x overload (offered {offered * spans:,.0f}/s): {overload['stored_spans_per_s']:10,.0f} spans/s stored, "
        f"p50 {overload['p50_ms']:.1f} ms, p99 {overload['p99_ms']:.1f} ms (accepted requests), "
        f"pushed back {overload['pushed_back_share']:.1%} ({overload['pushed_back_causes']}), "
        f"errors {overload['errors']:.0f}, {overload_cores:.2f} cores busy"
    )
    print(
        f"collector RSS: {rss_after_capacity / 1024:.0f} MiB after the capacity phase, "
        f"{rss_end / 1024:.0f} MiB after overload, peak (VmHWM) {peak / 1024:.0f} MiB (with its decoder workers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--spans-per-request", type=int, default=512)
    parser.add_argument("--senders", type=int, default=6)
    parser.add_argument(
        "--requests",
        type=int,
        default=100,
        help="distinct pre-built requests cycled by senders (51,200 spans at the default: enough distinct ids, token "
        "counts and costs that the decoder's cache of repeated attributes sees a realistic mix, not a replay)",
    )
    args = parser.parse_args()
    spans = args.spans_per_request
    payloads = _payloads(args.requests, spans)
    attributes = 30
    print(f"requests: {spans} LLM spans each (~{attributes} attributes), {len(payloads[0]) / 1024:.0f} KiB protobuf")
    workdir = Path(tempfile.mkdtemp(prefix="ft-bench-"))
    try:
        parse = ceiling_parse(payloads, spans)
        decode = ceiling_decode(payloads, spans)
        insert = ceiling_insert(payloads, spans, workdir)
        round_trip = pool_round_trip(payloads, spans)
        print("\n== ceilings, measured in this run")
        print(f"bare protobuf parse               : {parse:10,.0f} spans/s (one core)")
        print(f"our decode (parse + Arrow rows)   : {decode:10,.0f} spans/s (one core)")
        print(f"bare chDB insert, same rows/schema: {insert:10,.0f} rows/s (otel_traces + its materialized views)")
        print(
            f"decode through a worker process   : {round_trip['shared memory']:10.1f} us of CPU per span with shared "
            f"memory, {round_trip['pipes']:.1f} through pipes (this process + the worker)"
        )
        run_collector_phases(payloads, spans, args.senders, args.seconds, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _ = statistics, INSERT_COLUMNS, OTEL_TRACES


if __name__ == "__main__":
    main()
