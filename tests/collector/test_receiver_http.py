"""The OTLP/HTTP receiver, driven over real sockets (a fake in-memory sink stands in for the pipeline)."""

from __future__ import annotations

import gzip
import http.client
import io
import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator, Sequence

import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from firsttoken_collector.otlp.decoded import Decoded
from firsttoken_collector.pipeline.sink import Backpressure
from firsttoken_collector.receivers.http import OtlpHttpServer
from firsttoken_collector.selfmetrics import SelfMetrics
from firsttoken_collector.tables import INSERT_COLUMNS

from .rowblocks import block_rows
from .test_decode_otlp import kv, one_span_request

PROTOBUF = {"Content-Type": "application/x-protobuf"}


class FakeSink:
    """Records what it accepted; raises the queued `failures` (one per call) first, then `pushback` if set."""

    def __init__(self) -> None:
        self.accepted: list[tuple[Decoded, bytes]] = []
        self.pushback: Backpressure | None = None
        self.failures: list[Exception] = []
        self.calls: list[float] = []
        self.is_ready = True
        self._lock = threading.Lock()

    def accept(self, decoded: Decoded, payload: bytes) -> None:
        with self._lock:
            self.calls.append(time.monotonic())
            if self.failures:
                raise self.failures.pop(0)
            if self.pushback is not None:
                raise self.pushback
            self.accepted.append((decoded, payload))

    def ready(self) -> bool:
        return self.is_ready


def sdk_spans(count: int = 1) -> Sequence[ReadableSpan]:
    """Real SDK spans (as a BatchSpanProcessor would hand them to an exporter)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("firsttoken.test", "0.1")
    for index in range(count):
        with tracer.start_as_current_span(f"chat claude {index}") as span:
            span.set_attribute("gen_ai.request.model", "claude-haiku-4-5")
    provider.shutdown()
    return memory.get_finished_spans()


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
    try:
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, dict(response.getheaders()), data


def get(server: OtlpHttpServer, path: str, auth: bool = True) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": "Bearer s3cret"} if auth else {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, dict(response.getheaders()), data


def test_protobuf_export_is_accepted_and_answered_with_an_empty_response(
    server: OtlpHttpServer, sink: FakeSink
) -> None:
    body = one_span_request().SerializeToString()
    status, headers, data = post(server, "/v1/traces", body)
    assert status == 200
    assert headers["Content-Type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(data) == ExportTraceServiceResponse()
    assert sink.accepted[0][1] == body
    assert sink.accepted[0][0].accepted == 1


def test_gzip_body_is_decompressed(server: OtlpHttpServer, sink: FakeSink) -> None:
    body = one_span_request().SerializeToString()
    status, _, _ = post(server, "/v1/traces", gzip.compress(body), {"Content-Encoding": "gzip"})
    assert status == 200
    assert sink.accepted[0][1] == body


@pytest.mark.slow
def test_gzip_bomb_is_refused_with_413(server: OtlpHttpServer, sink: FakeSink) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()  # 256 MiB of zeros
    assert len(bomb) < 1024 * 1024  # under the limit compressed: only the inflation can trip it
    status, _, data = post(server, "/v1/traces", bomb, {"Content-Encoding": "gzip"})
    assert status == 413
    assert "exceeds" in Status.FromString(data).message
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
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 413


def test_backpressure_answers_its_status_with_retry_after(server: OtlpHttpServer, sink: FakeSink) -> None:
    sink.pushback = Backpressure(429, 1.2, "queue full", "queue_full")
    status, headers, data = post(server, "/v1/traces", one_span_request().SerializeToString())
    assert status == 429
    assert headers["Retry-After"] == "2"
    assert Status.FromString(data).message == "queue full"
    metrics = get(server, "/metrics")[2].decode()  # an SRE sees why clients are being slowed down
    assert 'firsttoken_collector_pushed_back_requests_total{signal="traces",cause="queue_full"} 1' in metrics


def test_health_readiness_and_metrics(server: OtlpHttpServer, sink: FakeSink) -> None:
    assert get(server, "/healthz", auth=False)[2] == b"ok\n"
    assert get(server, "/readyz")[0] == 200
    assert get(server, "/readyz", auth=False)[0] == 401
    assert get(server, "/metrics", auth=False)[0] == 401
    sink.is_ready = False
    assert get(server, "/readyz")[0] == 503
    # the metrics are updated before the answer is written: no race with a client reading them right after
    for _ in range(20):
        post(server, "/v1/traces", one_span_request().SerializeToString())
        status, headers, data = get(server, "/metrics")
        text = data.decode()
        assert 'firsttoken_collector_requests_total{transport="http",signal="traces",code="200"} ' in text
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'firsttoken_collector_requests_total{transport="http",signal="traces",code="200"} 20' in text
    assert 'firsttoken_collector_received_items_total{signal="traces"} 20' in text


def test_official_http_exporter_succeeds(server: OtlpHttpServer, sink: FakeSink) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(endpoint=f"{server.endpoint}/v1/traces", headers={"Authorization": "Bearer s3cret"})
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("chat claude"):
        pass
    provider.shutdown()
    assert sink.accepted
    assert sink.accepted[0][0].accepted == 1


@pytest.mark.parametrize("status", [429, 503])
def test_official_http_exporter_backs_off_on_retry_after_and_retries(
    server: OtlpHttpServer, sink: FakeSink, status: int
) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    sink.failures.append(Backpressure(status, 1.0, "busy"))
    exporter = OTLPSpanExporter(
        endpoint=f"{server.endpoint}/v1/traces", headers={"Authorization": "Bearer s3cret"}, timeout=10
    )
    try:
        result = exporter.export(sdk_spans(2))
    finally:
        exporter.shutdown()
    assert result is SpanExportResult.SUCCESS
    assert len(sink.calls) == 2
    assert sink.calls[1] - sink.calls[0] >= 0.9  # Retry-After: 1 honoured (not the exporter's own 1 s +-20% jitter)
    assert sink.accepted[0][0].accepted == 2


def test_invalid_utf8_in_a_string_field_is_400_with_a_status_body(server: OtlpHttpServer, sink: FakeSink) -> None:
    good = one_span_request(name="ab").SerializeToString()
    bad = good.replace(b"\x2a\x02ab", b"\x2a\x02\xc3\x28")
    assert bad != good
    status, headers, data = post(server, "/v1/traces", bad)
    assert status == 400
    assert headers["Content-Type"] == "application/x-protobuf"
    answer = Status.FromString(data)
    assert answer.code == 3  # INVALID_ARGUMENT
    assert "not a valid protobuf" in answer.message
    assert not sink.accepted


def test_json_errors_answer_a_json_status(server: OtlpHttpServer) -> None:
    status, headers, data = post(server, "/v1/traces", b"{", {"Content-Type": "application/json"})
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert json.loads(data)["code"] == 3


def test_a_span_with_ten_thousand_attributes_is_stored_whole(server: OtlpHttpServer, sink: FakeSink) -> None:
    request = one_span_request()
    request.resource_spans[0].scope_spans[0].spans[0].attributes.extend(
        kv(f"k{i}", AnyValue(int_value=i)) for i in range(10_000)
    )
    status, _, _ = post(server, "/v1/traces", request.SerializeToString())
    assert status == 200
    (row,) = block_rows(sink.accepted[0][0].blocks["otel_traces"])
    attributes = dict(zip(INSERT_COLUMNS["otel_traces"], row, strict=True))["SpanAttributes"]
    assert isinstance(attributes, dict)
    assert len(attributes) == 10_000
    assert attributes["k9999"] == "9999"


def test_an_unexpected_sink_error_is_500_and_the_server_keeps_serving(server: OtlpHttpServer, sink: FakeSink) -> None:
    sink.failures.append(RuntimeError("disk on fire"))
    status, _, data = post(server, "/v1/traces", one_span_request().SerializeToString())
    assert status == 500
    answer = Status.FromString(data)
    assert answer.code == 13  # INTERNAL
    assert "disk on fire" not in answer.message  # internals are logged, not sent
    assert post(server, "/v1/traces", one_span_request().SerializeToString())[0] == 200
    assert len(sink.accepted) == 1
    assert 'code="500"} 1' in get(server, "/metrics")[2].decode()


@pytest.mark.parametrize(
    ("method", "path", "expected", "allow"),
    [
        ("GET", "/v1/traces", 405, "POST"),
        ("GET", "/v1/query", 405, "POST"),
        ("PUT", "/v1/traces", 405, "GET, POST"),
        ("DELETE", "/v1/logs", 405, "GET, POST"),
        ("POST", "/healthz", 405, "GET"),
        ("GET", "/v1/nope", 404, None),
        ("GET", "/", 404, None),
        ("POST", "/v1/nope", 404, None),
    ],
)
def test_wrong_methods_and_unknown_paths(
    server: OtlpHttpServer, method: str, path: str, expected: int, allow: str | None
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=b"", headers={"Authorization": "Bearer s3cret", **PROTOBUF})
        response = connection.getresponse()
        data = response.read()
        assert response.status == expected
        assert response.getheader("Allow") == allow
        answer = (
            json_format.Parse(data, Status())
            if response.getheader("Content-Type") == "application/json"
            else Status.FromString(data)
        )
        assert answer.code == (5 if expected == 404 else 12)  # NOT_FOUND, UNIMPLEMENTED
        # the connection is still usable afterwards (keep-alive)
        connection.request("GET", "/healthz")
        assert connection.getresponse().read() == b"ok\n"
    finally:
        connection.close()


@pytest.fixture
def query_server(sink: FakeSink) -> Iterator[tuple[OtlpHttpServer, list[bytes]]]:
    seen: list[bytes] = []

    def handler(body: bytes) -> tuple[int, str, bytes]:
        seen.append(body)
        return 202, "application/json", b'{"rows": []}'

    receiver = OtlpHttpServer(
        sink, SelfMetrics(), port=0, max_request_bytes=1024, token="s3cret", query_handler=handler
    )
    receiver.start()
    try:
        yield receiver, seen
    finally:
        receiver.stop()


def test_query_route_calls_its_handler_behind_the_token(query_server: tuple[OtlpHttpServer, list[bytes]]) -> None:
    server, seen = query_server
    json_type = {"Content-Type": "application/json"}
    status, headers, data = post(server, "/v1/query", b'{"sql": "SELECT 1"}', json_type)
    assert (status, headers["Content-Type"], data) == (202, "application/json", b'{"rows": []}')
    assert seen == [b'{"sql": "SELECT 1"}']
    assert post(server, "/v1/query", b"{}", json_type, auth=False)[0] == 401
    assert post(server, "/v1/query", b"{}", {**json_type, "Authorization": "Bearer nope"})[0] == 401
    assert post(server, "/v1/query", b"x" * 2048, json_type)[0] == 413  # the size limit applies to queries too
    assert len(seen) == 1


def test_query_route_without_a_handler_is_404(server: OtlpHttpServer) -> None:
    assert post(server, "/v1/query", b"{}", {"Content-Type": "application/json"})[0] == 404
    assert post(server, "/v1/query", b"{}", {"Content-Type": "application/json"}, auth=False)[0] == 401


class _Recorded:
    """Enough of a socket for http.client.HTTPResponse to parse a recorded answer."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self._data)


def raw_exchange(server: OtlpHttpServer, head: bytes, body: bytes) -> tuple[int, bytes]:
    """Send a hand-made request (then end the stream, so a truncated body is seen as such); the answer's status
    code and body."""
    received = bytearray()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            sock.sendall(head + body)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before reading everything (e.g. 413)
            pass
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    response = http.client.HTTPResponse(_Recorded(bytes(received)))  # type: ignore[arg-type]
    response.begin()
    return response.status, response.read()


def chunked(data: bytes, size: int = 1000) -> bytes:
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\nX-Trailer: 1\r\n\r\n"


CHUNKED_HEAD = (
    b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
    b"Authorization: Bearer s3cret\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
)


@pytest.mark.parametrize("compress", [False, True])
def test_chunked_body_is_accepted(server: OtlpHttpServer, sink: FakeSink, compress: bool) -> None:
    request = one_span_request()
    request.resource_spans[0].scope_spans[0].spans[0].attributes.extend(
        kv(f"k{i}", AnyValue(string_value="v" * 10)) for i in range(300)
    )
    body = request.SerializeToString()
    head = CHUNKED_HEAD + (b"Content-Encoding: gzip\r\n" if compress else b"") + b"\r\n"
    status, _ = raw_exchange(server, head, chunked(gzip.compress(body) if compress else body))
    assert status == 200
    assert sink.accepted[0][1] == body


def test_chunked_body_via_http_client(server: OtlpHttpServer, sink: FakeSink) -> None:
    body = one_span_request().SerializeToString()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/v1/traces",
            body=iter([body[:10], body[10:]]),
            headers={**PROTOBUF, "Authorization": "Bearer s3cret"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert sink.accepted[0][1] == body


@pytest.fixture
def small_server(sink: FakeSink) -> Iterator[OtlpHttpServer]:
    receiver = OtlpHttpServer(sink, SelfMetrics(), port=0, max_request_bytes=4096, token="s3cret")
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("head_extra", "body", "expected"),
    [
        (b"", b"%x\r\n%s\r\n0\r\n\r\n" % (1024 * 1024, bytes(16)), 413),  # one declared chunk over the limit
        (b"", chunked(bytes(4097)), 413),  # the chunks add up past the limit
        (b"Content-Encoding: gzip\r\n", chunked(gzip.compress(bytes(64 * 1024))), 413),  # only once inflated
        (b"", b"zz\r\nab\r\n0\r\n\r\n", 400),
        (b"", b"1_0\r\n" + bytes(16) + b"\r\n0\r\n\r\n", 400),
        (b"", b"-4\r\nabcd\r\n0\r\n\r\n", 400),
        (b"", b"4\r\nabcdXX0\r\n\r\n", 400),
        (b"", b"4\r\nab", 400),  # truncated
        (b"", b"4\r\nabcd\r\n0\r\n", 400),  # no end of trailers
        (b"", b"f" * 5000 + b"\r\n", 400),  # size line too long
    ],
)
def test_bad_or_oversized_chunked_bodies(
    small_server: OtlpHttpServer, sink: FakeSink, head_extra: bytes, body: bytes, expected: int
) -> None:
    status, data = raw_exchange(small_server, CHUNKED_HEAD + head_extra + b"\r\n", body)
    assert status == expected
    assert Status.FromString(data).message
    assert not sink.accepted
    assert post(small_server, "/v1/traces", one_span_request().SerializeToString())[0] == 200


def test_unsupported_transfer_encoding_is_501(server: OtlpHttpServer) -> None:
    head = CHUNKED_HEAD.replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip, chunked") + b"\r\n"
    assert raw_exchange(server, head, chunked(b"x"))[0] == 501


def test_query_endpoint_without_a_token_answers_loopback_clients_only(sink: FakeSink) -> None:
    external = _external_address()
    if external is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    receiver = OtlpHttpServer(
        sink, SelfMetrics(), host="0.0.0.0", port=0, query_handler=lambda body: (200, "application/json", b"{}")
    )
    receiver.start()
    try:
        for address, status in (("127.0.0.1", 200), (external, 403)):
            connection = http.client.HTTPConnection(address, receiver.port, timeout=5)
            try:
                connection.request("POST", "/v1/query", body=b'{"query": "SELECT 1"}')
                response = connection.getresponse()
                response.read()
                assert response.status == status, address
            finally:
                connection.close()
    finally:
        receiver.stop()


def _external_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address
