"""The decoding entry points the receivers and the write-ahead-log replay call.

`decode_request` takes a request body as received (already decompressed) in either OTLP encoding and returns the
decoded rows plus the canonical protobuf payload, which is what the pipeline logs and replays with `decode_protobuf`.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from firsttoken_collector.otlp.decoded import Decoded, MalformedRequest, Signal
from firsttoken_collector.otlp.json_input import parse_json
from firsttoken_collector.otlp.logs import decode_logs
from firsttoken_collector.otlp.metrics import decode_metrics
from firsttoken_collector.otlp.raw_attributes import TraceRequestWithRawAttributes
from firsttoken_collector.otlp.traces import decode_traces

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

REQUEST_TYPES: dict[Signal, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def decode_message(signal: Signal, message: Message) -> Decoded:
    """Rows for an already-parsed Export*ServiceRequest."""
    if isinstance(message, ExportTraceServiceRequest):
        return decode_traces(parse_protobuf("traces", message.SerializeToString()))
    if isinstance(message, TraceRequestWithRawAttributes):
        return decode_traces(message)
    if isinstance(message, ExportMetricsServiceRequest):
        return decode_metrics(message)
    if isinstance(message, ExportLogsServiceRequest):
        return decode_logs(message)
    raise TypeError(f"not an OTLP export request for {signal}: {type(message).__name__}")


def parse_protobuf(signal: Signal, payload: bytes) -> Message:
    """The Export*ServiceRequest in `payload`; MalformedRequest if it does not parse (incl. invalid UTF-8 strings).

    Traces are parsed with their attributes left as bytes (`raw_attributes`), which the decoder checks as it reads
    them; everything else in the request is checked here."""
    parse: Callable[[bytes], Message] = (
        TraceRequestWithRawAttributes.FromString if signal == "traces" else REQUEST_TYPES[signal].FromString
    )
    try:
        return parse(payload)
    except Exception as error:  # upb raises DecodeError, and RuntimeError/RecursionError on pathological nesting
        raise MalformedRequest(f"request body is not a valid protobuf {REQUEST_TYPES[signal].__name__}") from error


def decode_protobuf(signal: Signal, payload: bytes) -> Decoded:
    """Decode a protobuf Export*ServiceRequest (the receivers' protobuf path and the write-ahead-log replay)."""
    return decode_message(signal, parse_protobuf(signal, payload))


def decode_request(signal: Signal, body: bytes, content_type: str) -> tuple[Decoded, bytes]:
    """Decode a request body in either OTLP encoding; returns the rows and the canonical protobuf payload.

    Raises MalformedRequest for an undecodable body, ValueError for an unsupported content type (the HTTP receiver
    checks the type first and answers 415).
    """
    kind = media_type(content_type)
    if kind == PROTOBUF:
        return decode_protobuf(signal, body), body
    if kind == JSON:
        message = parse_json(body, REQUEST_TYPES[signal]())
        try:
            payload = message.SerializeToString()
        except Exception as error:  # e.g. a lone surrogate that JSON allowed but protobuf strings cannot hold
            raise MalformedRequest(f"request cannot be encoded as protobuf: {error}") from None
        return decode_message(signal, message), payload
    raise ValueError(f"unsupported content type {content_type!r}")
