"""The OTLP/gRPC receiver (default :4317): the trace, metrics and logs Export services on one grpcio server.

Errors map to the codes OTLP clients act on: INVALID_ARGUMENT for bad data (not retried), UNAUTHENTICATED for a
missing or wrong token, UNAVAILABLE with a google.rpc.RetryInfo when the pipeline pushes back (retried after the
delay). The official Python exporter reads the delay from the `google.rpc.retryinfo-bin` trailing metadata, other
clients from the `grpc-status-details-bin` Status details, so both are sent.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from firsttoken_collector.otlp.decode import PROTOBUF, decode_request
from firsttoken_collector.otlp.decoded import MalformedRequest, Signal
from firsttoken_collector.pipeline.sink import Backpressure, Sink
from firsttoken_collector.receivers.export import REQUEST_DURATION, REQUESTS, Decode, Exporter, export_response
from firsttoken_collector.selfmetrics import SelfMetrics

logger = logging.getLogger(__name__)

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024
RETRY_INFO_METADATA_KEY = "google.rpc.retryinfo-bin"
STATUS_DETAILS_METADATA_KEY = "grpc-status-details-bin"


def _raw_request(data: bytes) -> bytes:
    """grpcio hands the handler the undecoded body; decoding happens in firsttoken's decoder."""
    return data


def _raw_response(message: Message) -> bytes:
    data: bytes = message.SerializeToString()
    return data


class _Services:
    """The three Export methods, sharing one Exporter."""

    def __init__(self, exporter: Exporter, metrics: SelfMetrics, token: str | None) -> None:
        self._exporter = exporter
        self._metrics = metrics
        self._expected = f"Bearer {token}".encode() if token is not None else None

    def _authorized(self, context: grpc.ServicerContext) -> bool:
        if self._expected is None:
            return True
        for key, value in context.invocation_metadata():
            if key == "authorization":
                given = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
                return hmac.compare_digest(given, self._expected)
        return False

    def handler(self, signal: Signal) -> Callable[[bytes, grpc.ServicerContext], Message]:
        def export(body: bytes, context: grpc.ServicerContext) -> Message:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if not self._authorized(context):
                    code = grpc.StatusCode.UNAUTHENTICATED
                    context.abort(code, "missing or wrong bearer token")
                try:
                    decoded = self._exporter.export(signal, body, PROTOBUF)
                except MalformedRequest as error:
                    code = grpc.StatusCode.INVALID_ARGUMENT
                    context.abort(code, str(error))
                except Backpressure as pushback:
                    code = grpc.StatusCode.UNAVAILABLE
                    _abort_with_retry(context, pushback)
                return export_response(decoded)
            except Exception as error:
                if code == grpc.StatusCode.OK:  # not one of our own aborts
                    code = grpc.StatusCode.INTERNAL
                    logger.exception("unexpected error in gRPC %s export", signal)
                    context.abort(code, "internal error")
                raise error
            finally:
                self._metrics.inc(REQUESTS, transport="grpc", signal=signal, code=code.name)
                self._metrics.observe(REQUEST_DURATION, time.perf_counter() - started, transport="grpc")

        return export


def _abort_with_retry(context: grpc.ServicerContext, pushback: Backpressure) -> None:
    delay = max(pushback.retry_after, 0.0)
    seconds = int(delay)
    retry_info = RetryInfo(retry_delay=Duration(seconds=seconds, nanos=int((delay - seconds) * 1e9)))
    status = Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message=pushback.reason)
    status.details.add().Pack(retry_info)
    context.set_trailing_metadata(
        (
            (RETRY_INFO_METADATA_KEY, retry_info.SerializeToString()),
            (STATUS_DETAILS_METADATA_KEY, status.SerializeToString()),
        )
    )
    context.abort(grpc.StatusCode.UNAVAILABLE, pushback.reason)


def _generic_handler(service: str, method: Callable[[bytes, grpc.ServicerContext], Message]) -> Any:
    rpc = grpc.unary_unary_rpc_method_handler(
        method, request_deserializer=_raw_request, response_serializer=_raw_response
    )
    return grpc.method_handlers_generic_handler(service, {"Export": rpc})


class OtlpGrpcServer:
    """OTLP/gRPC on `host:port`; `port=0` picks a free port (read `.port` after start())."""

    def __init__(
        self,
        sink: Sink,
        metrics: SelfMetrics,
        *,
        host: str = "127.0.0.1",
        port: int = 4317,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        token: str | None = None,
        max_workers: int = 8,
        decode: Decode = decode_request,
    ) -> None:
        self.host = host
        self.port = port
        self._services = _Services(Exporter(sink, metrics, decode), metrics, token)
        self._max_request_bytes = max_request_bytes
        self._max_workers = max_workers
        self._server: Any = None

    def start(self) -> None:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="otlp-grpc"),
            options=[
                ("grpc.max_receive_message_length", self._max_request_bytes),
                ("grpc.max_send_message_length", 4 * 1024 * 1024),
            ],
        )
        # Registered as generic handlers with raw-bytes deserializers, so a malformed body reaches our decoder
        # (INVALID_ARGUMENT with a clear message) instead of failing inside grpcio, and is parsed exactly once.
        # The service names are the ones `add_*ServiceServicer_to_server` in the *_service_pb2_grpc modules register.
        server.add_generic_rpc_handlers(
            (
                _generic_handler(
                    "opentelemetry.proto.collector.trace.v1.TraceService", self._services.handler("traces")
                ),
                _generic_handler(
                    "opentelemetry.proto.collector.metrics.v1.MetricsService", self._services.handler("metrics")
                ),
                _generic_handler("opentelemetry.proto.collector.logs.v1.LogsService", self._services.handler("logs")),
            )
        )
        self.port = server.add_insecure_port(f"{self.host}:{self.port}")
        server.start()
        self._server = server
        logger.info("OTLP/gRPC receiver listening on %s:%d", self.host, self.port)

    def stop(self, grace: float | None = 5.0) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"
