"""Decoding in worker processes gives exactly what decoding in place gives, errors included."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.otlp.decoded import MalformedRequest
from firsttoken_collector.otlp.decoder_pool import DecoderPool
from firsttoken_collector.synthetic import trace_request


@pytest.fixture(scope="module")
def pool() -> Iterator[DecoderPool]:
    decoders = DecoderPool(2, inline_below=1024)
    try:
        yield decoders
    finally:
        decoders.close()


def test_worker_decode_equals_inline_decode(pool: DecoderPool) -> None:
    body = trace_request(random.Random(1), 64)[0].SerializeToString()
    assert len(body) > 1024  # goes to a worker
    before = pool.shared_round_trips
    assert pool.decode("traces", body, "application/x-protobuf") == decode_request(
        "traces", body, "application/x-protobuf"
    )
    assert pool.shared_round_trips == before + 1  # body and rows crossed through shared memory, not the pipes


@pytest.mark.parametrize("room", ["body and rows", "body only", "neither"])
def test_what_does_not_fit_in_shared_memory_takes_the_pipes(room: str) -> None:
    """A body larger than a slot, or rows that outgrow it, still decode to the same result."""
    body = trace_request(random.Random(6), 64)[0].SerializeToString()
    inline = decode_request("traces", body, "application/x-protobuf")
    rows = len(inline[0].blocks["otel_traces"].data)
    assert rows > len(body)  # the rows are the larger side
    slot_bytes = {"body and rows": rows, "body only": len(body), "neither": len(body) - 1}[room]
    decoders = DecoderPool(1, inline_below=1024, slot_bytes=slot_bytes)
    try:
        assert decoders.decode("traces", body, "application/x-protobuf") == inline
        assert decoders.shared_round_trips == (1 if room == "body and rows" else 0)
    finally:
        decoders.close()


@pytest.mark.parametrize("room", [0, 2])
def test_with_little_or_no_shared_memory_the_rest_uses_pipes(
    room: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """/dev/shm missing or too small (a container's default): a warning at start, the slots that fit are used, and
    every decode still works."""
    import os

    from firsttoken_collector.otlp import shared_slots

    made = []
    real = os.posix_fallocate

    def fallocate(fd: int, offset: int, length: int) -> None:
        if len(made) == room:
            raise OSError(28, "No space left on device")
        made.append(fd)
        real(fd, offset, length)

    monkeypatch.setattr(shared_slots.os, "posix_fallocate", fallocate)
    decoders = DecoderPool(1, inline_below=1024)
    try:
        assert f"shared memory for {room} of 4 decodes in flight" in caplog.text
        body = trace_request(random.Random(7), 64)[0].SerializeToString()
        expected = decode_request("traces", body, "application/x-protobuf")
        assert decoders.decode("traces", body, "application/x-protobuf") == expected
        assert decoders.shared_round_trips == (1 if room else 0)
    finally:
        decoders.close()


def test_shared_memory_without_fallocate(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS has no posix_fallocate: the slots are made without reserving their space, and used."""
    from firsttoken_collector.otlp import shared_slots

    monkeypatch.delattr(shared_slots.os, "posix_fallocate")
    decoders = DecoderPool(1, inline_below=1024)
    try:
        body = trace_request(random.Random(9), 64)[0].SerializeToString()
        expected = decode_request("traces", body, "application/x-protobuf")
        assert decoders.decode("traces", body, "application/x-protobuf") == expected
        assert decoders.shared_round_trips == 1
    finally:
        decoders.close()


def test_closing_while_requests_decode_fails_none_of_them() -> None:
    """Decodes in flight when the collector shuts down finish; later ones run inline or are told to back off."""
    import threading

    from firsttoken_collector.pipeline.sink import Backpressure

    decoders = DecoderPool(1, inline_below=1024, max_wait=0.05)
    body = trace_request(random.Random(8), 512)[0].SerializeToString()
    outcomes: list[object] = []

    def client() -> None:
        for _ in range(3):
            try:
                outcomes.append(decoders.decode("traces", body, "application/x-protobuf")[0].rows)
            except Backpressure as exc:
                outcomes.append(exc.status)
            except Exception as exc:  # anything else would reach the client as a 500
                outcomes.append(exc)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)  # decodes are in flight
    decoders.close()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 12
    assert all(outcome in (512, 429) for outcome in outcomes), outcomes
    assert 512 in outcomes
    decoders.close()  # a second close is a no-op


def test_segments_a_killed_collector_left_are_removed_at_its_next_start() -> None:
    """With the resource tracker killed too (kill -9 of the process group), nothing removed them: the next start
    with the same name prefix (the same data directory) does, and leaves other collectors' segments alone."""
    import os
    from pathlib import Path

    prefix = f"fttest{os.getpid()}_"
    leaked = Path("/dev/shm", f"{prefix}deadbeef")
    leaked.write_bytes(bytes(4096))
    other = Path("/dev/shm", f"fttestother{os.getpid()}_cafe")
    other.write_bytes(bytes(4096))
    decoders = DecoderPool(1, inline_below=1024, shm_prefix=prefix)
    try:
        assert not leaked.exists()
        assert other.exists()
        names = [segment.name for segment in decoders._shared._all]
        assert len(names) == 4
        assert all(name.startswith(prefix) and Path("/dev/shm", name).exists() for name in names)
        body = trace_request(random.Random(10), 64)[0].SerializeToString()
        assert decoders.decode("traces", body, "application/x-protobuf")[0].rows == 64
        assert decoders.shared_round_trips == 1
    finally:
        decoders.close()
        other.unlink()
    assert not any(Path("/dev/shm", name).exists() for name in names)


def test_closing_the_pool_removes_its_shared_memory() -> None:
    from pathlib import Path

    decoders = DecoderPool(1, inline_below=1024)
    names = [segment.name for segment in decoders._shared._all]
    assert len(names) == 4
    assert all(Path("/dev/shm", name).exists() for name in names)
    decoders.close()
    assert not any(Path("/dev/shm", name).exists() for name in names)


def test_json_bodies_come_back_as_protobuf_payloads(pool: DecoderPool) -> None:
    import base64
    import json

    from google.protobuf import json_format

    request = trace_request(random.Random(2), 8)[0]
    as_dict = json_format.MessageToDict(request)
    for span in as_dict["resourceSpans"][0]["scopeSpans"][0]["spans"]:  # OTLP/JSON ids are hex, not base64
        span["traceId"] = base64.b64decode(span["traceId"]).hex()
        span["spanId"] = base64.b64decode(span["spanId"]).hex()
    body = json.dumps(as_dict).encode()  # over inline_below: decoded in a worker
    assert len(body) > 1024
    decoded, payload = pool.decode("traces", body, "application/json")
    assert decoded.rows == 8
    assert payload == request.SerializeToString()  # the write-ahead log keeps protobuf
    assert decode_request("traces", body, "application/json") == (decoded, payload)


def test_malformed_bodies_raise_the_same_error_through_the_pool(pool: DecoderPool) -> None:
    with pytest.raises(MalformedRequest):
        pool.decode("traces", b"\xff" * 4096, "application/x-protobuf")


def test_inline_mode_needs_no_workers() -> None:
    inline = DecoderPool(0)
    body = trace_request(random.Random(3), 4)[0].SerializeToString()
    assert inline.decode("traces", body, "application/x-protobuf")[0].rows == 4
    inline.close()


def _concurrent_decodes(decoders: DecoderPool, clients: int) -> list[object]:
    """`clients` threads decode a 512-span request at the same moment: rows, or the status they were answered."""
    import threading

    from firsttoken_collector.pipeline.sink import Backpressure

    body = trace_request(random.Random(4), 512)[0].SerializeToString()  # tens of milliseconds to decode
    start = threading.Barrier(clients)
    outcomes: list[object] = []

    def client() -> None:
        start.wait()
        try:
            outcomes.append(decoders.decode("traces", body, "application/x-protobuf")[0].rows)
        except Backpressure as exc:
            outcomes.append(exc.status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    decoders.close()
    return outcomes


def test_decodes_in_flight_are_bounded_and_the_excess_is_told_to_back_off() -> None:
    outcomes = _concurrent_decodes(DecoderPool(1, inline_below=1024, max_pending=1, max_wait=0.0), 4)
    assert 512 in outcomes
    assert 429 in outcomes
    assert len(outcomes) == 4


def test_a_burst_waits_for_a_decoder_instead_of_being_sent_away() -> None:
    """Four requests at once for one slot: with a wait longer than a decode, each gets its turn (no 429)."""
    outcomes = _concurrent_decodes(DecoderPool(1, inline_below=1024, max_pending=1, max_wait=30.0), 4)
    assert outcomes == [512, 512, 512, 512]


def _worker_pids(decoders: DecoderPool) -> set[int]:
    assert decoders._pool is not None
    return set(decoders._pool._processes)  # type: ignore[attr-defined]


def test_a_killed_worker_costs_one_inline_decode_then_the_pool_is_replaced() -> None:
    import os
    import signal

    decoders = DecoderPool(1, inline_below=1024)
    try:
        body = trace_request(random.Random(5), 64)[0].SerializeToString()
        (victim,) = _worker_pids(decoders)
        os.kill(victim, signal.SIGKILL)
        for _ in range(50):  # the executor notices the death asynchronously
            decoded, _ = decoders.decode("traces", body, "application/x-protobuf")
            assert decoded.rows == 64  # never a failed request
            if decoders.restarts:
                break
        assert decoders.restarts == 1
        (replacement,) = _worker_pids(decoders)
        assert replacement != victim
        before = decoders.shared_round_trips
        assert decoders.decode("traces", body, "application/x-protobuf")[0].rows == 64
        assert decoders.shared_round_trips == before + 1  # the new worker uses shared memory
        assert len(decoders._shared._free) == 4  # the slot the dead worker held was replaced, not lost
    finally:
        decoders.close()


def test_workers_exit_when_the_collector_is_killed() -> None:
    """SIGKILL gives the pool no chance to shut down: the workers notice their parent is gone and exit, and the
    shared memory they used is removed (by multiprocessing's resource tracker, once they are gone)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    code = (
        "import sys, time\n"
        "from firsttoken_collector.otlp.decoder_pool import DecoderPool\n"
        "pool = DecoderPool(2)\n"
        "print(' '.join(str(pid) for pid in pool._pool._processes), flush=True)\n"
        "print(' '.join(segment.name for segment in pool._shared._all), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2
    segments = [Path("/dev/shm", name) for name in parent.stdout.readline().split()]
    assert len(segments) == 6
    assert all(segment.exists() for segment in segments)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    parent.stdout.close()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting to be reaped has exited
            return stat.read().split(") ", 1)[1][0] != "Z"

    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers)
    while any(segment.exists() for segment in segments) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(segment.exists() for segment in segments)
