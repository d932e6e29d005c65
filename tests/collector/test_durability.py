"""Nothing acknowledged is lost or duplicated: through a ClickHouse outage, a full spill, and a SIGKILL mid-load."""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firsttoken_collector.config import ClickHouseTarget
from firsttoken_collector.otlp.decode import decode_protobuf, decode_request
from firsttoken_collector.otlp.decoded import JSON_COMPACT
from firsttoken_collector.pipeline.ingest import IngestPipeline
from firsttoken_collector.pipeline.sink import Backpressure
from firsttoken_collector.schema.migrate import migrate
from firsttoken_collector.selfmetrics import SelfMetrics
from firsttoken_collector.storage import ClickHouseWriter
from firsttoken_collector.synthetic import trace_request

ROOT = Path(__file__).resolve().parents[2]


class FlakyStore(ClickHouseWriter):
    """A real embedded ClickHouse behind a switch: while `down`, inserts fail as a dead server's would."""

    def __init__(self, target: ClickHouseTarget) -> None:
        super().__init__(target, database="firsttoken")
        self.down = False
        self.attempts_while_down = 0

    def insert(self, table: str, columns: tuple[str, ...], data: Any, token: str, *, fmt: str = JSON_COMPACT) -> None:
        if self.down:
            self.attempts_while_down += 1
            raise ConnectionRefusedError("[Errno 111] Connection refused (ClickHouse is down)")
        super().insert(table, columns, data, token, fmt=fmt)


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[FlakyStore]:
    store = FlakyStore(ClickHouseTarget(embedded_path=tmp_path / "clickhouse"))
    migrate(store.client(), database="firsttoken")
    try:
        yield store
    finally:
        store.close()


def _pipeline(tmp_path: Path, store: ClickHouseWriter, *, batch_delay: float = 0.05, **limits: int) -> IngestPipeline:
    pipeline = IngestPipeline(
        wal_dir=tmp_path / "wal",
        store=store,
        decode=decode_protobuf,
        metrics=SelfMetrics(),
        queue_max_bytes=limits.get("queue_max_bytes", 64 << 20),
        spill_max_bytes=limits.get("spill_max_bytes", 1 << 30),
        batch_rows=2_000,
        batch_delay=batch_delay,
        fsync=False,
        backoff_initial=0.05,
        backoff_max=0.2,
    )
    pipeline.start()
    return pipeline


def _send(pipeline: IngestPipeline, rng: random.Random, spans: int) -> list[str]:
    request, ids = trace_request(rng, spans, service="durability")
    decoded, payload = decode_request("traces", request.SerializeToString(), "application/x-protobuf")
    pipeline.accept(decoded, payload)
    return ids


def _span_counts(store: ClickHouseWriter) -> tuple[int, int, int]:
    rows = (
        store.client()
        .query(
            "SELECT count(), uniqExact(SpanId), (SELECT count() FROM firsttoken.llm_calls) FROM firsttoken.otel_traces"
        )
        .result_rows
    )
    total, distinct, llm = rows[0]
    return int(total), int(distinct), int(llm)


def test_waiting_for_idle_inserts_a_partial_batch_now_not_at_the_batch_delay(tmp_path: Path, flaky: FlakyStore) -> None:
    pipeline = _pipeline(tmp_path, flaky, batch_delay=60.0)
    try:
        _send(pipeline, random.Random(3), 100)
        time.sleep(0.5)
        assert _span_counts(flaky) == (0, 0, 0), "a partial batch waits for the batch delay"
        started = time.monotonic()
        assert pipeline.wait_idle(20)
        assert time.monotonic() - started < 10
        assert _span_counts(flaky) == (100, 100, 100)
        _send(pipeline, random.Random(4), 50)  # after the wait, batching is back to its delay
        time.sleep(0.5)
        assert _span_counts(flaky)[0] == 100
    finally:
        pipeline.close(timeout=10)


def test_a_flush_inserts_what_was_acknowledged_and_says_what_it_could_not(tmp_path: Path, flaky: FlakyStore) -> None:
    """What a fresh read (`firsttoken report` on a running collector) relies on."""
    pipeline = _pipeline(tmp_path, flaky, batch_delay=60.0)
    try:
        assert pipeline.flush(1.0) == 0  # nothing pending: nothing to wait for
        _send(pipeline, random.Random(5), 100)
        _send(pipeline, random.Random(6), 100)
        time.sleep(0.3)
        assert _span_counts(flaky) == (0, 0, 0), "held for the batch delay"
        assert pipeline.flush(20) == 0
        assert _span_counts(flaky) == (200, 200, 200)

        flaky.down = True
        _send(pipeline, random.Random(7), 100)
        started = time.monotonic()
        assert pipeline.flush(0.5) == 1  # ClickHouse down: one acknowledged request is not in it
        assert time.monotonic() - started < 5  # and the caller was not held past its timeout
        flaky.down = False
        assert pipeline.flush(20) == 0
        assert _span_counts(flaky) == (300, 300, 300)
    finally:
        pipeline.close(timeout=10)


def test_clickhouse_outage_loses_and_duplicates_nothing(tmp_path: Path, flaky: FlakyStore) -> None:
    rng = random.Random(1)
    # a small memory budget, so most of the outage is held on disk only and re-read from the log at recovery
    pipeline = _pipeline(tmp_path, flaky, queue_max_bytes=1 << 20)
    acked = _send(pipeline, rng, 100)
    assert pipeline.wait_idle(10)
    flaky.down = True
    acked += _send(pipeline, rng, 100)
    # Until its first insert fails the collector does not know ClickHouse is down: a full queue then means "behind"
    # (429, clients retry). Once it knows, requests past the memory budget go to the spill.
    deadline = time.monotonic() + 10
    while pipeline.healthy and time.monotonic() < deadline:
        time.sleep(0.01)
    for _ in range(39):
        acked += _send(pipeline, rng, 100)  # accepted while ClickHouse is down: into the spill
    time.sleep(0.3)
    assert flaky.attempts_while_down >= 2, "the writer keeps retrying"
    assert not pipeline.healthy
    assert pipeline.pending_rows == 4000
    flaky.down = False
    assert pipeline.wait_idle(30)
    assert pipeline.healthy
    assert _span_counts(flaky) == (4100, 4100, 4100)
    pipeline.close()


def test_a_full_spill_answers_503_and_keeps_what_it_took(tmp_path: Path, flaky: FlakyStore) -> None:
    rng = random.Random(2)
    pipeline = _pipeline(tmp_path, flaky, queue_max_bytes=1 << 20, spill_max_bytes=1 << 20)
    flaky.down = True
    acked: list[str] = []
    refusals: list[Backpressure] = []
    for _ in range(60):
        try:
            acked += _send(pipeline, rng, 50)
        except Backpressure as exc:
            refusals.append(exc)
    assert acked
    assert refusals
    assert {(r.status, r.retry_after > 0) for r in refusals} == {(503, True)}
    assert not pipeline.ready()
    flaky.down = False
    assert pipeline.wait_idle(30)
    assert _span_counts(flaky) == (len(acked), len(acked), len(acked))
    pipeline.close()


def test_overload_with_clickhouse_healthy_answers_429_and_memory_stays_bounded(
    tmp_path: Path, flaky: FlakyStore
) -> None:
    rng = random.Random(3)
    pipeline = _pipeline(tmp_path, flaky, queue_max_bytes=1 << 20)
    flaky.down = True  # hold the writer so the queue fills, but report ClickHouse as healthy
    pipeline._writer.healthy = True
    statuses = []
    for _ in range(60):
        try:
            _send(pipeline, rng, 50)
            statuses.append(200)
        except Backpressure as exc:
            statuses.append(exc.status)
        pipeline._writer.healthy = True
    assert 429 in statuses
    assert pipeline._buffer.memory <= (1 << 20) + 200_000
    flaky.down = False
    assert pipeline.wait_idle(30)
    pipeline.close()


def test_restart_replays_the_log_without_duplicates(tmp_path: Path, flaky: FlakyStore) -> None:
    rng = random.Random(4)
    pipeline = _pipeline(tmp_path, flaky)
    flaky.down = True
    for _ in range(10):
        _send(pipeline, rng, 100)
    assert not pipeline.close(timeout=0.3), "ClickHouse is down: the backlog stays in the log"
    flaky.down = False
    again = _pipeline(tmp_path, flaky)
    assert again.recovered == 10
    assert again.wait_idle(30)
    assert _span_counts(flaky) == (1000, 1000, 1000)
    again.close()


# ---- SIGKILL --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_collector(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FIRSTTOKEN_BATCH_DELAY_SECONDS": "0.05", "FIRSTTOKEN_BATCH_ROWS": "2000"}
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "firsttoken_collector.cli",
                "collector",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
                "--grpc-port",
                "-1",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return process
        except OSError:
            pass
        finally:
            connection.close()
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        time.sleep(0.1)
    process.kill()
    raise AssertionError("collector did not become ready")


def _query(port: int, sql: str) -> list[list[Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST", "/v1/query", body=json.dumps({"query": sql}), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200, body
    rows: list[list[Any]] = json.loads(body)["data"]
    return rows


@pytest.mark.slow
def test_sigkill_mid_load_then_restart_stores_every_acknowledged_span_exactly_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = _free_port()
    process = _start_collector(data_dir, port, tmp_path / "collector.log")
    acked: list[str] = []
    stop = threading.Event()

    def sender(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            _send_until(connection, rng, stop)
        finally:
            connection.close()

    def _send_until(connection: http.client.HTTPConnection, rng: random.Random, stop: threading.Event) -> None:
        while not stop.is_set():
            request, ids = trace_request(rng, 200, service="sigkill")
            try:
                connection.request(
                    "POST",
                    "/v1/traces",
                    body=request.SerializeToString(),
                    headers={"Content-Type": "application/x-protobuf"},
                )
                response = connection.getresponse()
                response.read()
            except OSError:
                return  # the collector died under us: this request was never acknowledged
            if response.status == 200:
                acked.extend(ids)

    senders = [threading.Thread(target=sender, args=(seed,)) for seed in range(4)]
    for thread in senders:
        thread.start()
    time.sleep(2.5)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    stop.set()
    for thread in senders:
        thread.join(10)
    assert len(acked) > 1000

    process = _start_collector(data_dir, port, tmp_path / "collector.log")
    try:
        deadline = time.monotonic() + 60
        stored: set[str] = set()
        while time.monotonic() < deadline:
            stored = {row[0] for row in _query(port, "SELECT SpanId FROM otel_traces WHERE ServiceName = 'sigkill'")}
            if stored >= set(acked):
                break
            time.sleep(0.5)
        missing = set(acked) - stored
        assert not missing, f"{len(missing)} acknowledged spans lost"
        time.sleep(1.0)  # let any replay finish before checking for duplicates
        duplicates = _query(
            port,
            "SELECT SpanId, count() AS n FROM otel_traces WHERE ServiceName = 'sigkill' GROUP BY SpanId HAVING n > 1",
        )
        assert duplicates == []
        ((traces, llm),) = _query(
            port,
            "SELECT (SELECT count() FROM otel_traces WHERE ServiceName = 'sigkill'),"
            " (SELECT count() FROM llm_calls WHERE service_name = 'sigkill')",
        )
        assert traces == llm, "every stored span reached llm_calls once"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0


class PoisonStore(ClickHouseWriter):
    """Real embedded ClickHouse, except that it refuses any block containing a marker, as it would refuse rows it
    cannot parse (a data error: retrying the same rows can never succeed)."""

    def insert(self, table: str, columns: tuple[str, ...], data: Any, token: str, *, fmt: str = JSON_COMPACT) -> None:
        if b"poison-service" in (data if isinstance(data, bytes) else b"".join(data)):
            raise RuntimeError(
                "Code: 27. DB::Exception: Cannot parse input: expected ']' (CANNOT_PARSE_INPUT_ASSERTION_FAILED)"
            )
        super().insert(table, columns, data, token, fmt=fmt)


def test_rows_clickhouse_refuses_are_quarantined_and_the_rest_stored(tmp_path: Path) -> None:
    store = PoisonStore(ClickHouseTarget(embedded_path=tmp_path / "clickhouse"), database="firsttoken")
    migrate(store.client(), database="firsttoken")
    try:
        metrics = SelfMetrics()
        pipeline = _pipeline(tmp_path, store)
        pipeline._writer._metrics = metrics
        rng = random.Random(5)
        good = _send(pipeline, rng, 30)
        request, _ = trace_request(rng, 10, service="poison-service")
        decoded, payload = decode_request("traces", request.SerializeToString(), "application/x-protobuf")
        pipeline.accept(decoded, payload)
        good += _send(pipeline, rng, 30)
        assert pipeline.wait_idle(30)
        assert _span_counts(store) == (len(good), len(good), len(good))
        kept = sorted(p.name for p in (tmp_path / "quarantine").iterdir())
        assert len(kept) == 2
        assert kept[0].endswith(".traces.error.txt")
        assert kept[1].endswith(".traces.pb")
        assert (tmp_path / "quarantine" / kept[1]).read_bytes() == payload
        assert metrics.value("firsttoken_collector_quarantined_requests_total") == 1
        pipeline.close()
    finally:
        store.close()


def test_a_full_queue_turns_requests_away_before_decoding_them(tmp_path: Path, flaky: FlakyStore) -> None:
    from firsttoken_collector.receivers.export import Exporter

    pipeline = _pipeline(tmp_path, flaky, queue_max_bytes=1 << 20)
    flaky.down = True
    pipeline._writer.healthy = True
    decodes = 0

    def counting_decode(signal: str, body: bytes, content_type: str) -> tuple[object, bytes]:
        nonlocal decodes
        decodes += 1
        return decode_request(signal, body, content_type)  # type: ignore[arg-type]

    exporter = Exporter(pipeline, SelfMetrics(), counting_decode)  # type: ignore[arg-type]
    rng = random.Random(6)
    outcomes = []
    for _ in range(40):
        body = trace_request(rng, 50, service="precheck")[0].SerializeToString()
        try:
            exporter.export("traces", body, "application/x-protobuf")
            outcomes.append(200)
        except Backpressure as exc:
            outcomes.append(exc.status)
        pipeline._writer.healthy = True
    assert 429 in outcomes
    # only a request that found the queue nearly full was decoded and then refused
    assert outcomes.count(200) <= decodes <= outcomes.count(200) + 2
    flaky.down = False
    assert pipeline.wait_idle(30)
    pipeline.close()
