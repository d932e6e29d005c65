"""What both receivers do with an export request once its body is in hand: decode, hand to the sink, count.

Keeping this in one place means HTTP and gRPC acknowledge exactly the same way: a request is acknowledged only after
`sink.accept` returned (the data is durable), it is decoded once and accepted once, and the self-metrics agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.otlp.decoded import Decoded, Signal
from firsttoken_collector.pipeline.sink import Backpressure, Sink
from firsttoken_collector.selfmetrics import SelfMetrics

RECEIVED = "firsttoken_collector_received_items_total"
REJECTED = "firsttoken_collector_rejected_items_total"
REQUESTS = "firsttoken_collector_requests_total"
REQUEST_DURATION = "firsttoken_collector_request_duration_seconds"
PUSHED_BACK = "firsttoken_collector_pushed_back_requests_total"


def export_response(decoded: Decoded) -> Message:
    """The Export*ServiceResponse: empty on full success, partial_success when items were rejected."""
    response: Message
    if decoded.signal == "traces":
        traces = ExportTraceServiceResponse()
        if decoded.rejected or decoded.error_message:
            traces.partial_success.rejected_spans = decoded.rejected
            traces.partial_success.error_message = decoded.error_message
        response = traces
    elif decoded.signal == "metrics":
        metrics = ExportMetricsServiceResponse()
        if decoded.rejected or decoded.error_message:
            metrics.partial_success.rejected_data_points = decoded.rejected
            metrics.partial_success.error_message = decoded.error_message
        response = metrics
    else:
        logs = ExportLogsServiceResponse()
        if decoded.rejected or decoded.error_message:
            logs.partial_success.rejected_log_records = decoded.rejected
            logs.partial_success.error_message = decoded.error_message
        response = logs
    return response


def retry_after_seconds(retry_after: float) -> int:
    """Retry-After must be whole seconds; round up so the client never comes back too early, and at least 1."""
    return max(1, math.ceil(retry_after))


Decode = Callable[[Signal, bytes, str], tuple[Decoded, bytes]]


@dataclass
class Exporter:
    """Decode a request and hand it to the sink (raises MalformedRequest, Backpressure, or whatever the sink raised).

    `decode` is `decode_request`, or a `DecoderPool.decode` that runs it in worker processes."""

    sink: Sink
    metrics: SelfMetrics
    decode: Decode = field(default=decode_request)

    def export(self, signal: Signal, body: bytes, content_type: str) -> Decoded:
        try:
            precheck = getattr(self.sink, "precheck", None)
            if precheck is not None:
                precheck(len(body))  # turn an overloaded collector's 429 around before paying for the decode
            decoded, payload = self.decode(signal, body, content_type)
            if decoded.accepted or decoded.rows:
                self.sink.accept(decoded, payload)
        except Backpressure as pushback:
            self.metrics.inc(PUSHED_BACK, signal=signal, cause=pushback.cause)
            raise
        if decoded.accepted:
            self.metrics.inc(RECEIVED, decoded.accepted, signal=signal)
        if decoded.rejected:
            self.metrics.inc(REJECTED, decoded.rejected, signal=signal, reason="invalid_item")
        return decoded
