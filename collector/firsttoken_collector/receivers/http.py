"""The OTLP/HTTP receiver (default :4318) plus the collector's health, readiness, metrics and query routes.

Behaviour follows the OTLP/HTTP specification: POST /v1/{traces,metrics,logs} with a protobuf or JSON body
(optionally gzip), the answer in the request's content type; 400 with a google.rpc.Status for bad data (never
retried), 413 over the size limit (applied after decompression), 415 for an unsupported type or encoding, 429/503 with
Retry-After when the pipeline pushes back, 200 with partial_success when some items were rejected.

A stdlib ThreadingHTTPServer with HTTP/1.1 keep-alive: exporters send few, large requests, so the per-request cost is
decoding, not HTTP parsing.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status

from firsttoken_collector.otlp.decode import JSON, PROTOBUF, decode_request, media_type
from firsttoken_collector.otlp.decoded import MalformedRequest, Signal
from firsttoken_collector.pipeline.sink import Backpressure, Sink
from firsttoken_collector.receivers.bodies import (
    BadChunking,
    BadEncoding,
    BodyTooLarge,
    decode_content,
    read_chunked,
    read_exact,
)
from firsttoken_collector.receivers.export import (
    REQUEST_DURATION,
    REQUESTS,
    Decode,
    Exporter,
    export_response,
    retry_after_seconds,
)
from firsttoken_collector.selfmetrics import SelfMetrics

logger = logging.getLogger(__name__)

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024
EXPORT_PATHS: dict[str, Signal] = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
QueryHandler = Callable[[bytes], tuple[int, str, bytes]]

# google.rpc.Code values for the Status body
_RPC_CODE = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 501: 12, 503: 14}


class _Reply(Exception):
    """Answer the request now with this status and message (a Status body)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A client that stalls mid-request (or a keep-alive connection idle this long) gives its thread back; OTLP
    # exporters reconnect on their next export.
    timeout = 120
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    # ---- responses -------------------------------------------------------------------------------------------------
    def _send(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_message(self, status: int, message: Message, json_wanted: bool, headers: dict[str, str] | None) -> None:
        if json_wanted:
            body = json_format.MessageToJson(message, indent=None).encode("utf-8")
            self._send(status, JSON, body, headers)
        else:
            self._send(status, PROTOBUF, message.SerializeToString(), headers)

    def _send_status(self, status: int, message: str, json_wanted: bool, headers: dict[str, str] | None = None) -> None:
        self._send_message(status, Status(code=_RPC_CODE.get(status, 2), message=message), json_wanted, headers)

    def _wants_json(self) -> bool:
        return media_type(self.headers.get("Content-Type", "")) != PROTOBUF

    # ---- routing ---------------------------------------------------------------------------------------------------
    def _authorized(self) -> bool:
        token = self.server.token
        if token is None:
            return True
        header = self.headers.get("Authorization", "")
        return hmac.compare_digest(header.encode("utf-8", "replace"), f"Bearer {token}".encode())

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
            return
        if not self._authorized():
            self._send_status(401, "missing or wrong bearer token", True, {"WWW-Authenticate": "Bearer"})
            return
        if path == "/readyz":
            ready = self._sink_ready()
            self._send(200 if ready else 503, "text/plain; charset=utf-8", b"ready\n" if ready else b"not ready\n")
        elif path == "/metrics":
            body = self.server.metrics.render().encode("utf-8")
            self._send(200, "text/plain; version=0.0.4; charset=utf-8", body)
        elif path in EXPORT_PATHS or path == "/v1/query":
            self._send_status(405, "use POST", True, {"Allow": "POST"})
        else:
            self._send_status(404, f"no route {path}", True)

    def _sink_ready(self) -> bool:
        try:
            return bool(self.server.sink.ready())
        except Exception:
            logger.exception("sink.ready() failed")
            return False

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        signal = EXPORT_PATHS.get(path)
        started = time.perf_counter()
        json_wanted = self._wants_json()
        status = 500
        recorded = False

        def record(code: int) -> None:
            # Before the answer is written, so a client that reads /metrics right after its answer sees its request.
            nonlocal recorded
            if signal is not None and not recorded:
                recorded = True
                metrics = self.server.metrics
                metrics.inc(REQUESTS, transport="http", signal=signal, code=str(code))
                metrics.observe(REQUEST_DURATION, time.perf_counter() - started, transport="http")

        try:
            if not self._authorized():
                self._discard_body()
                raise _Reply(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
            if signal is None:
                if path == "/v1/query" and self.server.query_handler is not None:
                    if self.server.token is None and not _is_loopback(self.client_address[0]):
                        # Without a token, reading the database is for this machine only, whatever the bind.
                        self._discard_body()
                        raise _Reply(403, "/v1/query answers loopback clients only unless a token is configured")
                    body = self._read_body()
                    status, content_type, answer = self.server.query_handler(body)
                    self._send(status, content_type, answer)
                    return
                self._discard_body()
                if path in ("/healthz", "/readyz", "/metrics"):
                    raise _Reply(405, "use GET", {"Allow": "GET"})
                raise _Reply(404, f"no route {path}")
            kind = media_type(self.headers.get("Content-Type", ""))
            if kind not in (PROTOBUF, JSON):
                self._discard_body()
                raise _Reply(415, f"unsupported Content-Type {kind!r} (use {PROTOBUF} or {JSON})")
            body = self._read_body()
            try:
                decoded = self.server.exporter.export(signal, body, kind)
            except MalformedRequest as error:
                raise _Reply(400, str(error)) from None
            except Backpressure as pushback:
                seconds = retry_after_seconds(pushback.retry_after)
                raise _Reply(pushback.status, pushback.reason, {"Retry-After": str(seconds)}) from None
            status = 200
            response = export_response(decoded)
            record(status)
            self._send_message(200, response, json_wanted, None)
        except _Reply as reply:
            status = reply.status
            record(status)
            self._send_status(reply.status, reply.message, json_wanted, reply.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            raise
        except Exception:
            logger.exception("unexpected error handling POST %s", path)
            status = 500
            self.close_connection = True
            record(status)
            self._send_status(500, "internal error", json_wanted)
        finally:
            record(status)  # a no-op unless the client went away before an answer

    def _chunked(self) -> bool:
        """Whether the body uses `Transfer-Encoding: chunked` (which then wins over Content-Length, RFC 9112 6.3)."""
        header = self.headers.get("Transfer-Encoding")
        if header is None:
            return False
        codings = [coding.strip().lower() for coding in header.split(",") if coding.strip()]
        if codings != ["chunked"]:
            self.close_connection = True
            raise _Reply(501, f"unsupported Transfer-Encoding {header!r} (only chunked)")
        return True

    def _content_length(self) -> int:
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0
        try:
            length = int(raw)
        except ValueError:
            self.close_connection = True
            raise _Reply(400, "bad Content-Length") from None
        if length < 0:
            self.close_connection = True
            raise _Reply(400, "bad Content-Length")
        return length

    def _read_body(self) -> bytes:
        limit = self.server.max_request_bytes
        if self._chunked():
            try:
                data = read_chunked(self.rfile, limit)
            except BodyTooLarge as error:
                self.close_connection = True  # the rest of the body is not read
                raise _Reply(413, str(error)) from None
            except BadChunking as error:
                self.close_connection = True
                raise _Reply(400, str(error)) from None
        else:
            length = self._content_length()
            if length > limit:
                # Not read: the connection is closed after the answer instead.
                self.close_connection = True
                raise _Reply(413, f"request body exceeds {limit} bytes")
            data = read_exact(self.rfile, length)
            if len(data) < length:
                self.close_connection = True
                raise ConnectionError("client closed the connection mid-body")
        try:
            return decode_content(data, self.headers.get("Content-Encoding", ""), limit)
        except BodyTooLarge as error:
            raise _Reply(413, str(error)) from None
        except BadEncoding as error:
            raise _Reply(error.status, str(error)) from None

    def _discard_body(self) -> None:
        """Skip an unwanted body so the connection can be reused, unless it is too big (or chunked) to bother."""
        try:
            if self._chunked():
                self.close_connection = True
                return
            length = self._content_length()
        except _Reply:
            return
        if length > 1024 * 1024:
            self.close_connection = True
            return
        read_exact(self.rfile, length)

    def do_PUT(self) -> None:
        self._method_not_allowed()

    def do_DELETE(self) -> None:
        self._method_not_allowed()

    def do_PATCH(self) -> None:
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        self._discard_body()
        self._send_status(405, f"method {self.command} not allowed", True, {"Allow": "GET, POST"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    sink: Sink
    metrics: SelfMetrics
    exporter: Exporter
    max_request_bytes: int
    token: str | None
    query_handler: QueryHandler | None


class OtlpHttpServer:
    """OTLP/HTTP on `host:port` in a background thread; `port=0` picks a free port (read `.port` after start())."""

    def __init__(
        self,
        sink: Sink,
        metrics: SelfMetrics,
        *,
        host: str = "127.0.0.1",
        port: int = 4318,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        token: str | None = None,
        query_handler: QueryHandler | None = None,
        decode: Decode = decode_request,
    ) -> None:
        self._decode = decode
        self._sink = sink
        self._metrics = metrics
        self.host = host
        self.port = port
        self._max_request_bytes = max_request_bytes
        self._token = token
        self._query_handler = query_handler
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = _Server((self.host, self.port), _Handler)
        server.sink = self._sink
        server.metrics = self._metrics
        server.exporter = Exporter(self._sink, self._metrics, self._decode)
        server.max_request_bytes = self._max_request_bytes
        server.token = self._token
        server.query_handler = self._query_handler
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="otlp-http", daemon=True)
        self._thread.start()
        logger.info("OTLP/HTTP receiver listening on %s:%d", self.host, self.port)

    def stop(self) -> None:
        """Stop accepting, close the socket; in-flight requests finish in their own threads."""
        server = self._server
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"
