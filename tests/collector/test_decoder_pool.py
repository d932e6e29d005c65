"""Decoding in worker processes gives exactly what decoding in place gives, errors included."""

from __future__ import annotations

import random
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
    assert pool.decode("traces", body, "application/x-protobuf") == decode_request(
        "traces", body, "application/x-protobuf"
    )


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
        assert decoders.decode("traces", body, "application/x-protobuf")[0].rows == 64
    finally:
        decoders.close()


def test_workers_exit_when_the_collector_is_killed() -> None:
    """SIGKILL gives the pool no chance to shut down: the workers notice their parent is gone and exit."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = (
        "import sys, time\n"
        "from firsttoken_collector.otlp.decoder_pool import DecoderPool\n"
        "pool = DecoderPool(2)\n"
        "print(' '.join(str(pid) for pid in pool._pool._processes), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2
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
