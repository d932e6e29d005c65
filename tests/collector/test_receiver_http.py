"""The OTLP/HTTP receiver, driven over real sockets (a fake in-memory sink stands in for the pipeline)."""

from __future__ import annotations

import gzip
import http.client
import zlib
from collections.abc import Iterator

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from firsttoken_collector.otlp.decoded import Decoded
from firsttoken_collector.pipeline.sink import Backpressure
from firsttoken_collector.receivers.http import OtlpHttpServer
from firsttoken_collector.selfmetrics import SelfMetrics

from .test_decode_otlp import one_span_request

PROTOBUF = {"Content-Type": "application/x-protobuf"}


class FakeSink:
    def __init__(self) -> None:
        self.accepted: list[tuple[Decoded, bytes]] = []
        self.pushback: Backpressure | None = None
        self.is_ready = True

    def accept(self, decoded: Decoded, payload: bytes) -> None:
        if self.pushback is not None:
            raise self.pushback
        self.accepted.append((decoded, payload))

    def ready(self) -> bool:
        return self.is_ready


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def server(sink: FakeSink) -> Iterator[OtlpHttpServer]:
    receiver = OtlpHttpServer(sink, SelfMetrics(), port=0, max_request_bytes=1024 * 1024, token="s3cret")
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def post(
    server: OtlpHttpServer, path: str, body: bytes, headers: dict[str, str] | None = None, auth: bool = True
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    all_headers = {**PROTOBUF, **(headers or {})}
    if auth:
        all_headers.setdefault("Authorization", "Bearer s3cret")
    connection.request("POST", path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), data


def test_protobuf_export_is_accepted_and_answered_with_an_empty_response(
    server: OtlpHttpServer, sink: FakeSink
) -> None:
    body = one_span_request().SerializeToString()
    status, headers, data = post(server, "/v1/traces", body)
    assert status == 200 and headers["Content-Type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(data) == ExportTraceServiceResponse()
    assert sink.accepted[0][1] == body and sink.accepted[0][0].accepted == 1


def test_gzip_body_is_decompressed(server: OtlpHttpServer, sink: FakeSink) -> None:
    body = one_span_request().SerializeToString()
    status, _, _ = post(server, "/v1/traces", gzip.compress(body), {"Content-Encoding": "gzip"})
    assert status == 200 and sink.accepted[0][1] == body


@pytest.mark.slow
def test_gzip_bomb_is_refused_with_413(server: OtlpHttpServer, sink: FakeSink) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(1024)) + compressor.flush()  # 1 GiB of zeros
    status, _, data = post(server, "/v1/traces", bomb, {"Content-Encoding": "gzip"})
    assert status == 413 and "exceeds" in Status.FromString(data).message
    assert not sink.accepted


@pytest.mark.parametrize(
    ("path", "body", "headers", "auth", "expected"),
    [
        ("/v1/traces", b"\xff\xff", {}, True, 400),
        ("/v1/traces", b"{", {"Content-Type": "application/json"}, True, 400),
        ("/v1/traces", b"x", {"Content-Type": "text/plain"}, True, 415),
        ("/v1/traces", b"x", {"Content-Encoding": "br"}, True, 415),
        ("/v1/traces", b"", {}, False, 401),
        ("/v1/traces", b"", {"Authorization": "Bearer wrong"}, True, 401),
        ("/v1/nope", b"", {}, True, 404),
        ("/v1/query", b"", {}, True, 404),
        ("/v1/traces", b"", {}, True, 200),
    ],
)
def test_statuses_and_the_server_keeps_serving(
    server: OtlpHttpServer, path: str, body: bytes, headers: dict[str, str], auth: bool, expected: int
) -> None:
    assert post(server, path, body, headers, auth)[0] == expected
    assert post(server, "/v1/traces", one_span_request().SerializeToString())[0] == 200


def test_content_length_over_the_limit_is_413_without_reading(server: OtlpHttpServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("POST", "/v1/traces")
    connection.putheader("Content-Type", "application/x-protobuf")
    connection.putheader("Authorization", "Bearer s3cret")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 * 1024))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()


def test_backpressure_answers_its_status_with_retry_after(server: OtlpHttpServer, sink: FakeSink) -> None:
    sink.pushback = Backpressure(429, 1.2, "queue full")
    status, headers, data = post(server, "/v1/traces", one_span_request().SerializeToString())
    assert status == 429 and headers["Retry-After"] == "2"
    assert Status.FromString(data).message == "queue full"


def test_health_readiness_and_metrics(server: OtlpHttpServer, sink: FakeSink) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/healthz")
    assert connection.getresponse().read() == b"ok\n"
    sink.is_ready = False
    connection.request("GET", "/readyz", headers={"Authorization": "Bearer s3cret"})
    response = connection.getresponse()
    response.read()
    assert response.status == 503
    post(server, "/v1/traces", one_span_request().SerializeToString())
    connection.request("GET", "/metrics", headers={"Authorization": "Bearer s3cret"})
    text = connection.getresponse().read().decode()
    assert 'firsttoken_collector_requests_total{transport="http",signal="traces",code="200"} 1' in text
    assert 'firsttoken_collector_received_items_total{signal="traces"} 1' in text
    connection.close()


def test_official_http_exporter_succeeds(server: OtlpHttpServer, sink: FakeSink) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = OTLPSpanExporter(endpoint=f"{server.endpoint}/v1/traces", headers={"Authorization": "Bearer s3cret"})
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("chat claude"):
        pass
    provider.shutdown()
    assert sink.accepted
    assert sink.accepted[0][0].accepted == 1
