"""The OTLP/gRPC receiver, driven by the official exporter and a raw grpc channel (a fake in-memory sink stands in
for the pipeline)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace.export import SpanExportResult

from firsttoken_collector.pipeline.sink import Backpressure
from firsttoken_collector.receivers.grpc import OtlpGrpcServer
from firsttoken_collector.selfmetrics import SelfMetrics
from firsttoken_collector.tables import INSERT_COLUMNS

from .rowblocks import block_rows
from .test_decode_otlp import SPAN_ID, TRACE_ID, kv, one_span_request
from .test_receiver_http import FakeSink, sdk_spans

TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
METRICS = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
AUTH = (("authorization", "Bearer s3cret"),)
MAX_REQUEST_BYTES = 64 * 1024


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def metrics() -> SelfMetrics:
    return SelfMetrics()


@pytest.fixture
def server(sink: FakeSink, metrics: SelfMetrics) -> Iterator[OtlpGrpcServer]:
    receiver = OtlpGrpcServer(sink, metrics, port=0, max_request_bytes=MAX_REQUEST_BYTES, token="s3cret")
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop(grace=None)


@pytest.fixture
def channel(server: OtlpGrpcServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.endpoint) as opened:
        yield opened


def call(
    channel: grpc.Channel,
    body: bytes,
    method: str = TRACES,
    metadata: tuple[tuple[str, str], ...] | None = AUTH,
) -> bytes:
    """One raw Export call: bytes in, bytes out (raises grpc.RpcError)."""
    export = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    answer: bytes = export(body, metadata=metadata, timeout=10)
    return answer


def rpc_error(channel: grpc.Channel, body: bytes, **kwargs: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(channel, body, **kwargs)  # type: ignore[arg-type]
    return caught.value


def official_exporter(server: OtlpGrpcServer, token: str = "s3cret") -> OTLPSpanExporter:
    return OTLPSpanExporter(
        endpoint=server.endpoint, insecure=True, headers=(("authorization", f"Bearer {token}"),), timeout=10
    )


def test_official_grpc_exporter_lands_rows_in_the_sink(server: OtlpGrpcServer, sink: FakeSink) -> None:
    exporter = official_exporter(server)
    try:
        result = exporter.export(sdk_spans(3))
    finally:
        exporter.shutdown()
    assert result is SpanExportResult.SUCCESS
    (decoded, payload) = sink.accepted[0]
    assert (decoded.signal, decoded.accepted, decoded.rejected) == ("traces", 3, 0)
    assert payload
    table = [
        dict(zip(INSERT_COLUMNS["otel_traces"], row, strict=True)) for row in block_rows(decoded.blocks["otel_traces"])
    ]
    assert sorted(str(row["SpanName"]) for row in table) == ["chat claude 0", "chat claude 1", "chat claude 2"]
    assert {row["ScopeName"] for row in table} == {"firsttoken.test"}
    assert all(row["SpanAttributes"] == {"gen_ai.request.model": "claude-haiku-4-5"} for row in table)


def test_official_grpc_exporter_backs_off_on_unavailable_and_retries(server: OtlpGrpcServer, sink: FakeSink) -> None:
    sink.failures.append(Backpressure(503, 1.0, "spill full"))
    exporter = official_exporter(server)
    try:
        result = exporter.export(sdk_spans(1))
    finally:
        exporter.shutdown()
    assert result is SpanExportResult.SUCCESS
    assert len(sink.calls) == 2
    assert sink.calls[1] - sink.calls[0] >= 0.9  # the RetryInfo delay (1 s), not an immediate retry
    assert sink.accepted[0][0].accepted == 1


def test_backpressure_is_unavailable_with_retry_info(channel: grpc.Channel, sink: FakeSink) -> None:
    sink.pushback = Backpressure(429, 2.5, "queue full")
    error = rpc_error(channel, one_span_request().SerializeToString())
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert error.details() == "queue full"
    trailing = dict(error.trailing_metadata())
    retry_info = RetryInfo.FromString(trailing["google.rpc.retryinfo-bin"])
    assert (retry_info.retry_delay.seconds, retry_info.retry_delay.nanos) == (2, 500_000_000)
    status = Status.FromString(trailing["grpc-status-details-bin"])
    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    unpacked = RetryInfo()
    assert status.details[0].Unpack(unpacked)
    assert unpacked == retry_info


def test_malformed_bytes_are_invalid_argument(channel: grpc.Channel, sink: FakeSink) -> None:
    error = rpc_error(channel, b"\xff\xff")
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf" in error.details()
    assert not sink.calls
    assert call(channel, one_span_request().SerializeToString()) == b""


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Bearer wrong"),), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "s3cret"),), grpc.StatusCode.UNAUTHENTICATED),
        (AUTH, grpc.StatusCode.OK),
    ],
)
def test_token_auth(
    channel: grpc.Channel, sink: FakeSink, metadata: tuple[tuple[str, str], ...], expected: grpc.StatusCode
) -> None:
    body = one_span_request().SerializeToString()
    if expected is grpc.StatusCode.OK:
        assert ExportTraceServiceResponse.FromString(call(channel, body, metadata=metadata)).ByteSize() == 0
        assert len(sink.accepted) == 1
    else:
        assert rpc_error(channel, body, metadata=metadata).code() is expected
        assert not sink.calls


def test_official_exporter_with_a_wrong_token_fails_without_retrying(server: OtlpGrpcServer, sink: FakeSink) -> None:
    exporter = official_exporter(server, token="wrong")
    try:
        result = exporter.export(sdk_spans(1))
    finally:
        exporter.shutdown()
    assert result is SpanExportResult.FAILURE
    assert not sink.calls


def test_message_over_the_limit_is_resource_exhausted_and_the_server_keeps_serving(
    channel: grpc.Channel, sink: FakeSink
) -> None:
    request = one_span_request(name="x" * (MAX_REQUEST_BYTES + 1))
    error = rpc_error(channel, request.SerializeToString())
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert not sink.calls
    assert call(channel, one_span_request().SerializeToString()) == b""
    assert len(sink.accepted) == 1


def test_metrics_and_logs_services_answer(channel: grpc.Channel, sink: FakeSink) -> None:
    metrics_request = ExportMetricsServiceRequest()
    metric = metrics_request.resource_metrics.add().scope_metrics.add().metrics.add(name="gen_ai.client.token.usage")
    metric.gauge.data_points.add(as_int=7, time_unix_nano=1_700_000_000_000_000_000)
    answer = ExportMetricsServiceResponse.FromString(call(channel, metrics_request.SerializeToString(), METRICS))
    assert answer == ExportMetricsServiceResponse()

    logs_request = ExportLogsServiceRequest()
    record = logs_request.resource_logs.add().scope_logs.add().log_records.add(time_unix_nano=1)
    record.body.string_value = "hello"
    answer_logs = ExportLogsServiceResponse.FromString(call(channel, logs_request.SerializeToString(), LOGS))
    assert answer_logs == ExportLogsServiceResponse()

    assert [(decoded.signal, decoded.accepted) for decoded, _ in sink.accepted] == [("metrics", 1), ("logs", 1)]
    assert set(sink.accepted[0][0].blocks) == {"otel_metrics_gauge"}
    assert set(sink.accepted[1][0].blocks) == {"otel_logs"}
    # empty requests succeed without reaching the sink
    assert call(channel, b"", METRICS) == b""
    assert call(channel, b"", LOGS) == b""
    assert len(sink.calls) == 2


def test_partial_success_reports_rejected_spans(channel: grpc.Channel, sink: FakeSink) -> None:
    request = one_span_request()
    request.resource_spans[0].scope_spans[0].spans.add(trace_id=b"abc", span_id=SPAN_ID, name="bad")
    answer = ExportTraceServiceResponse.FromString(call(channel, request.SerializeToString()))
    assert answer.partial_success.rejected_spans == 1
    assert "trace_id must be 16 bytes" in answer.partial_success.error_message
    assert sink.accepted[0][0].accepted == 1


def test_a_request_of_only_rejected_spans_is_answered_without_the_sink(channel: grpc.Channel, sink: FakeSink) -> None:
    request = one_span_request(trace_id=b"abc")
    answer = ExportTraceServiceResponse.FromString(call(channel, request.SerializeToString()))
    assert answer.partial_success.rejected_spans == 1
    assert not sink.calls


def test_unexpected_sink_error_is_internal_and_the_server_keeps_serving(
    channel: grpc.Channel, sink: FakeSink, metrics: SelfMetrics
) -> None:
    sink.failures.append(RuntimeError("disk on fire"))
    error = rpc_error(channel, one_span_request().SerializeToString())
    assert error.code() is grpc.StatusCode.INTERNAL
    assert "disk on fire" not in error.details()
    assert call(channel, one_span_request().SerializeToString()) == b""
    assert metrics.value("firsttoken_collector_requests_total", transport="grpc", signal="traces", code="INTERNAL") == 1
    assert metrics.value("firsttoken_collector_requests_total", transport="grpc", signal="traces", code="OK") == 1


def test_request_metrics_count_each_outcome(channel: grpc.Channel, sink: FakeSink, metrics: SelfMetrics) -> None:
    call(channel, one_span_request().SerializeToString())
    rpc_error(channel, b"\xff\xff")
    rpc_error(channel, b"", metadata=())
    sink.pushback = Backpressure(503, 0.1, "busy")
    rpc_error(channel, one_span_request().SerializeToString())
    by_code = {
        code: metrics.value("firsttoken_collector_requests_total", transport="grpc", signal="traces", code=code)
        for code in ("OK", "INVALID_ARGUMENT", "UNAUTHENTICATED", "UNAVAILABLE")
    }
    assert by_code == {"OK": 1, "INVALID_ARGUMENT": 1, "UNAUTHENTICATED": 1, "UNAVAILABLE": 1}
    assert metrics.value("firsttoken_collector_received_items_total", signal="traces") == 1
    assert metrics.value("firsttoken_collector_request_duration_seconds", transport="grpc") == 4


def test_span_attributes_survive_the_grpc_path(channel: grpc.Channel, sink: FakeSink) -> None:
    request = one_span_request(trace_id=TRACE_ID)
    request.resource_spans[0].scope_spans[0].spans[0].attributes.append(kv("k", AnyValue(bool_value=True)))
    call(channel, request.SerializeToString())
    (row,) = block_rows(sink.accepted[0][0].blocks["otel_traces"])
    assert dict(zip(INSERT_COLUMNS["otel_traces"], row, strict=True))["SpanAttributes"] == {"k": "true"}
