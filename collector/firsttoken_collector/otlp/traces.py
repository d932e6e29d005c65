"""ExportTraceServiceRequest -> `otel_traces` rows, exactly as the ClickHouse exporter writes them.

Columns follow `tables.TRACE_COLUMNS`. Resource- and scope-level values (resource attribute map, service name, scope
name/version) are computed once per ResourceSpans/ScopeSpans, not per span. A span whose ids cannot be stored (trace id
not 16 non-zero bytes, span id not 8 non-zero bytes, a parent or link id of the wrong length) or whose timestamps are
past DateTime64(9)'s range is rejected and counted; the rest of the request is kept.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from firsttoken_collector.otlp.anyvalue import attributes_to_map, string_attribute
from firsttoken_collector.otlp.decoded import Decoded
from firsttoken_collector.otlp.rejections import Rejections
from firsttoken_collector.otlp.rowformat import MAX_TIMESTAMP_NS, encode_rows, span_id_hex, trace_id_hex
from firsttoken_collector.tables import OTEL_TRACES

SPAN_KINDS: tuple[str, ...] = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
"""pdata `SpanKind.String()` by enum value (the current exporter's spelling)."""
STATUS_CODES: tuple[str, ...] = ("Unset", "Ok", "Error")
"""pdata `StatusCode.String()` by enum value."""

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)


def _span_problem(trace_id: bytes, span_id: bytes, parent: bytes) -> str:
    if len(trace_id) != 16:
        return "trace_id must be 16 bytes"
    if trace_id == _ZERO_TRACE_ID:
        return "trace_id is all zeros"
    if len(span_id) != 8:
        return "span_id must be 8 bytes"
    if span_id == _ZERO_SPAN_ID:
        return "span_id is all zeros"
    return "parent_span_id must be empty or 8 bytes"


def decode_traces(request: ExportTraceServiceRequest) -> Decoded:
    """Rows for every storable span in the request, plus partial-success counts."""
    rows: list[list[Any]] = []
    append = rows.append
    rejected = Rejections()
    kinds = SPAN_KINDS
    codes = STATUS_CODES
    to_map = attributes_to_map
    max_ns = MAX_TIMESTAMP_NS
    zero_tid = _ZERO_TRACE_ID
    zero_sid = _ZERO_SPAN_ID
    for resource_spans in request.resource_spans:
        resource_attributes = resource_spans.resource.attributes
        resource_map = to_map(resource_attributes)
        service_name = string_attribute(resource_attributes, "service.name")
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_name = scope.name
            scope_version = scope.version
            for span in scope_spans.spans:
                trace_id = span.trace_id
                span_id = span.span_id
                parent = span.parent_span_id
                if (
                    len(trace_id) != 16
                    or len(span_id) != 8
                    or trace_id == zero_tid
                    or span_id == zero_sid
                    or (parent and len(parent) != 8)
                ):
                    rejected.add(_span_problem(trace_id, span_id, parent))
                    continue
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                if start > max_ns:
                    rejected.add("start_time_unix_nano is past 2262-04-11")
                    continue
                event_times: list[str] = []
                event_names: list[str] = []
                event_attributes: list[dict[str, str]] = []
                events_ok = True
                for event in span.events:
                    nanos = event.time_unix_nano
                    if nanos > max_ns:
                        events_ok = False
                        break
                    seconds, fraction = divmod(nanos, 1_000_000_000)
                    event_times.append("%010d.%09d" % (seconds, fraction))  # noqa: UP031 - hot path, faster than f-string
                    event_names.append(event.name)
                    event_attributes.append(to_map(event.attributes))
                if not events_ok:
                    rejected.add("event time_unix_nano is past 2262-04-11")
                    continue
                link_trace_ids: list[str] = []
                link_span_ids: list[str] = []
                link_states: list[str] = []
                link_attributes: list[dict[str, str]] = []
                links_ok = True
                for link in span.links:
                    link_trace = link.trace_id
                    link_span = link.span_id
                    if (link_trace and len(link_trace) != 16) or (link_span and len(link_span) != 8):
                        links_ok = False
                        break
                    link_trace_ids.append(trace_id_hex(link_trace))
                    link_span_ids.append(span_id_hex(link_span))
                    link_states.append(link.trace_state)
                    link_attributes.append(to_map(link.attributes))
                if not links_ok:
                    rejected.add("link ids must be 16 (trace) and 8 (span) bytes")
                    continue
                kind = span.kind
                status = span.status
                code = status.code
                seconds, fraction = divmod(start, 1_000_000_000)
                append(
                    [
                        "%010d.%09d" % (seconds, fraction),  # noqa: UP031 - hot path, faster than f-string
                        trace_id.hex(),
                        span_id.hex(),
                        "" if not parent or parent == zero_sid else parent.hex(),
                        span.trace_state,
                        span.name,
                        kinds[kind] if 0 <= kind < 6 else "",
                        service_name,
                        resource_map,
                        scope_name,
                        scope_version,
                        to_map(span.attributes),
                        end - start if end > start else 0,
                        codes[code] if 0 <= code < 3 else "",
                        status.message,
                        event_times,
                        event_names,
                        event_attributes,
                        link_trace_ids,
                        link_span_ids,
                        link_states,
                        link_attributes,
                    ]
                )
    blocks = {OTEL_TRACES: encode_rows(rows)} if rows else {}
    return Decoded(
        signal="traces",
        blocks=blocks,
        accepted=len(rows),
        rejected=rejected.count,
        error_message=rejected.message("spans"),
    )
