"""End to end: a service process with `firsttoken.instrument()` (real SDKs against the fake provider) exports with
the official OTLP exporters, over HTTP and gRPC, to a running collector on embedded ClickHouse; the typed tables hold
exactly what the spans carried."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firsttoken.testing import FakeProviderServer
from firsttoken_collector.app import Collector
from firsttoken_collector.config import load_config
from firsttoken_collector.query_api import open_reader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    config = load_config(env={}, data_dir=str(tmp_path / "data"), http_port=0, grpc_port=0)
    object.__setattr__(config, "batch_delay_seconds", 0.05)
    running = Collector(config)
    running.start()
    try:
        yield running
    finally:
        running.stop(timeout=10)


def _run_workload(fake: FakeProviderServer, endpoint: str, protocol: str, out: Path) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_SERVICE_NAME": f"e2e-{protocol.replace('/', '-')}",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "FIRSTTOKEN_STRICT": "1",
    }
    env.pop("OTEL_TRACES_EXPORTER", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.collector.instrumented_workload", fake.url, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spans: list[dict[str, Any]] = json.loads(out.read_text())
    return spans


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_spans_land_in_typed_tables_exactly_as_sent(
    collector: Collector, fake: FakeProviderServer, tmp_path: Path, protocol: str
) -> None:
    port = collector.http_port if protocol == "http/protobuf" else collector.grpc_port
    spans = _run_workload(fake, f"http://127.0.0.1:{port}", protocol, tmp_path / "spans.json")
    assert collector.pipeline is not None
    assert collector.pipeline.wait_idle(30)

    reader = open_reader(collector.config)  # embedded and running: goes through the collector's query endpoint
    service = f"e2e-{protocol.replace('/', '-')}"
    stored = reader.query(
        "SELECT SpanId, SpanName FROM otel_traces WHERE ServiceName = {s:String}", {"s": service}
    ).rows
    assert sorted(r[0] for r in stored) == sorted(s["span_id"] for s in spans)

    llm = [s for s in spans if s["scope"] == "firsttoken" and s["kind"] == "CLIENT"]
    rows = {
        r["span_id"]: r
        for r in reader.query("SELECT * FROM llm_calls WHERE service_name = {s:String}", {"s": service}).dicts()
    }
    assert set(rows) == {s["span_id"] for s in llm}
    for span in llm:
        a, row = span["attributes"], rows[span["span_id"]]
        assert row["trace_id"] == span["trace_id"]
        assert row["request_model"] == a["gen_ai.request.model"]
        assert row["provider"] == a["gen_ai.provider.name"]
        assert row["input_tokens"] == a.get("gen_ai.usage.input_tokens")
        assert row["output_tokens"] == a.get("gen_ai.usage.output_tokens")
        assert row["cache_read_tokens"] == a.get("gen_ai.usage.cache_read.input_tokens")
        assert row["cache_write_tokens"] == a.get("gen_ai.usage.cache_creation.input_tokens")
        assert _close(row["cost_usd"], a.get("firsttoken.cost.usd")), (row, a)
        assert bool(row["priced"]) == bool(a.get("firsttoken.cost.priced", False))
        ttft = a.get("gen_ai.response.time_to_first_chunk")
        assert _close(row["ttft_ms"], ttft * 1000 if ttft is not None else None)
        assert _close(row["duration_ms"], (span["end_ns"] - span["start_ns"]) / 1e6)
        assert list(row["tool_call_names"]) == list(a.get("firsttoken.tool_calls.names", []))
        assert row["tool_calls_invalid"] == a.get("firsttoken.tool_calls.invalid")
        assert row["structured_requested"] == a.get("firsttoken.structured_output.requested", False)
        assert row["structured_valid"] == a.get("firsttoken.structured_output.valid")
        assert row["task_id"] == a.get("firsttoken.task.id", "")
        assert row["error_type"] == a.get("error.type", "")
        assert row["tenant"] == a.get("firsttoken.tenant", "")

    tools = [s for s in spans if s["name"].startswith("execute_tool")]
    tool_rows = reader.query(
        "SELECT span_id, tool_name, success FROM tool_calls WHERE service_name = {s:String}", {"s": service}
    ).rows
    assert sorted((r[0], r[1], bool(r[2])) for r in tool_rows) == sorted(
        (s["span_id"], s["attributes"]["gen_ai.tool.name"], s["attributes"]["firsttoken.tool.success"]) for s in tools
    )
    tasks = [s for s in spans if s["name"].startswith("invoke_workflow")]
    task_rows = reader.query(
        "SELECT task_id, task_name, status, llm_calls FROM tasks WHERE service_name = {s:String}", {"s": service}
    ).rows
    assert sorted(tuple(r) for r in task_rows) == sorted(
        (
            s["attributes"]["firsttoken.task.id"],
            s["attributes"]["firsttoken.task.name"],
            s["attributes"]["firsttoken.task.status"],
            s["attributes"]["firsttoken.task.llm_calls"],
        )
        for s in tasks
    )


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_bad_requests_get_their_status_and_lose_nothing_else(collector: Collector) -> None:
    """Good requests interleaved with every kind of bad one, against the real pipeline: each bad one is refused
    alone with the right status, and every good span is stored exactly once."""
    import gzip
    import random

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from firsttoken_collector.synthetic import trace_request

    rng = random.Random(11)
    port = collector.http_port
    protobuf = {"Content-Type": "application/x-protobuf"}
    sent: list[str] = []

    def good() -> None:
        request, ids = trace_request(rng, 20, service="bad-input")
        assert _post(port, "/v1/traces", request.SerializeToString(), protobuf) == 200
        sent.extend(ids)

    huge_request, huge_ids = trace_request(rng, 1, service="bad-input")
    span = huge_request.resource_spans[0].scope_spans[0].spans[0]
    for i in range(10_000):
        kv = span.attributes.add()
        kv.key = f"extra.{i}"
        kv.value.int_value = i
    invalid_utf8 = ExportTraceServiceRequest()
    bad_span = invalid_utf8.resource_spans.add().scope_spans.add().spans.add()
    bad_span.trace_id, bad_span.span_id, bad_span.name = b"\x01" * 16, b"\x02" * 8, "zz"
    raw = invalid_utf8.SerializeToString().replace(b"zz", b"\xc3\x28")  # the span name: invalid UTF-8
    cases: list[tuple[bytes, dict[str, str], int]] = [
        (b"\xff\xff\xff\xff", protobuf, 400),
        (b'{"resourceSpans": [', {"Content-Type": "application/json"}, 400),
        (b"hello", {"Content-Type": "text/plain"}, 415),
        (raw, protobuf, 400),
        (gzip.compress(b"\x00" * (80 << 20)), {**protobuf, "Content-Encoding": "gzip"}, 413),
        (b"", protobuf, 200),
    ]
    good()
    for body, headers, status in cases:
        assert _post(port, "/v1/traces", body, headers) == status, (headers, status)
        good()
    assert _post(port, "/v1/traces", huge_request.SerializeToString(), protobuf) == 200
    sent.extend(huge_ids)
    good()

    assert collector.pipeline is not None
    assert collector.pipeline.wait_idle(30)
    reader = open_reader(collector.config)
    stored = reader.query("SELECT SpanId, length(SpanAttributes) FROM otel_traces WHERE ServiceName = 'bad-input'").rows
    assert sorted(r[0] for r in stored) == sorted(sent)
    assert max(r[1] for r in stored) >= 10_000
