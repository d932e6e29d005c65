"""ExportTraceServiceRequest -> `otel_traces` rows, exactly as the ClickHouse exporter writes them.

Columns follow `tables.TRACE_COLUMNS`, built column by column into one Arrow block per request (`arrow_block`).
Resource- and scope-level values (resource attribute map, service name, scope name/version) are computed once per
ResourceSpans/ScopeSpans, not per span. A span whose ids cannot be stored (trace id
not 16 non-zero bytes, span id not 8 non-zero bytes, a parent or link id of the wrong length) or whose timestamps are
past DateTime64(9)'s range is rejected and counted; the rest of the request is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from firsttoken_collector.otlp.arrow_block import ListColumn, ListOfMapsColumn, MapColumn, trace_block
from firsttoken_collector.otlp.decoded import Decoded
from firsttoken_collector.otlp.raw_attributes import attribute_map, string_attribute
from firsttoken_collector.otlp.rejections import Rejections
from firsttoken_collector.otlp.rowformat import MAX_TIMESTAMP_NS, span_id_hex, trace_id_hex
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


def decode_traces(request: Any) -> Decoded:
    """Rows for every storable span in the request (one Arrow block), plus partial-success counts.

    `request` is a `raw_attributes.TraceRequestWithRawAttributes`: its attributes arrive as KeyValue bytes."""
    timestamps: list[int] = []
    trace_ids: list[str] = []
    span_ids: list[str] = []
    parent_ids: list[str] = []
    trace_states: list[str] = []
    names: list[str] = []
    kind_names: list[str] = []
    services: list[str] = []
    resource_maps = MapColumn()
    scope_names: list[str] = []
    scope_versions: list[str] = []
    span_maps = MapColumn()
    durations: list[int] = []
    status_codes: list[str] = []
    status_messages: list[str] = []
    event_times = ListColumn()
    event_names = ListColumn()
    event_maps = ListOfMapsColumn()
    link_trace_ids = ListColumn()
    link_span_ids = ListColumn()
    link_states = ListColumn()
    link_maps = ListOfMapsColumn()
    rejected = Rejections()
    kinds = SPAN_KINDS
    codes = STATUS_CODES
    to_map = attribute_map
    max_ns = MAX_TIMESTAMP_NS
    zero_tid = _ZERO_TRACE_ID
    zero_sid = _ZERO_SPAN_ID
    add_span_map = span_maps.append
    for resource_spans in request.resource_spans:
        resource_attributes = resource_spans.resource.attributes
        resource_map = to_map(resource_attributes)
        resource_keys = list(resource_map)
        resource_values = list(resource_map.values())
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
                    _check_attributes(span)
                    continue
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                if start > max_ns:
                    rejected.add("start_time_unix_nano is past 2262-04-11")
                    _check_attributes(span)
                    continue
                events = span.events
                links = span.links
                if events and not _events_storable(events):
                    rejected.add("event time_unix_nano is past 2262-04-11")
                    _check_attributes(span)
                    continue
                if links and not _links_storable(links):
                    rejected.add("link ids must be 16 (trace) and 8 (span) bytes")
                    _check_attributes(span)
                    continue
                if events:
                    for event in events:
                        event_times.items.append(event.time_unix_nano)
                        event_names.items.append(event.name)
                        event_maps.maps.append(to_map(event.attributes))
                if links:
                    for link in links:
                        link_trace_ids.items.append(trace_id_hex(link.trace_id))
                        link_span_ids.items.append(span_id_hex(link.span_id))
                        link_states.items.append(link.trace_state)
                        link_maps.maps.append(to_map(link.attributes))
                count = len(event_names.items)
                event_times.offsets.append(count)
                event_names.offsets.append(count)
                event_maps.offsets.append(count)
                count = len(link_states.items)
                link_trace_ids.offsets.append(count)
                link_span_ids.offsets.append(count)
                link_states.offsets.append(count)
                link_maps.offsets.append(count)
                kind = span.kind
                status = span.status
                code = status.code
                timestamps.append(start)
                trace_ids.append(trace_id.hex())
                span_ids.append(span_id.hex())
                parent_ids.append("" if not parent or parent == zero_sid else parent.hex())
                trace_states.append(span.trace_state)
                names.append(span.name)
                kind_names.append(kinds[kind] if 0 <= kind < 6 else "")
                services.append(service_name)
                resource_maps.keys.extend(resource_keys)
                resource_maps.values.extend(resource_values)
                resource_maps.offsets.append(len(resource_maps.keys))
                scope_names.append(scope_name)
                scope_versions.append(scope_version)
                add_span_map(to_map(span.attributes))
                durations.append(end - start if end > start else 0)
                status_codes.append(codes[code] if 0 <= code < 3 else "")
                status_messages.append(status.message)
    accepted = len(timestamps)
    blocks = {}
    if accepted:
        string = pa.string()
        timestamp = pa.timestamp("ns")
        arrays = [
            pa.array(timestamps, timestamp),
            pa.array(trace_ids, string),
            pa.array(span_ids, string),
            pa.array(parent_ids, string),
            pa.array(trace_states, string),
            pa.array(names, string),
            pa.array(kind_names, string),
            pa.array(services, string),
            resource_maps.array(),
            pa.array(scope_names, string),
            pa.array(scope_versions, string),
            span_maps.array(),
            pa.array(durations, pa.uint64()),
            pa.array(status_codes, string),
            pa.array(status_messages, string),
            event_times.array(timestamp),
            event_names.array(string),
            event_maps.array(),
            link_trace_ids.array(string),
            link_span_ids.array(string),
            link_states.array(string),
            link_maps.array(),
        ]
        blocks[OTEL_TRACES] = trace_block(arrays, accepted)
    return Decoded(
        signal="traces",
        blocks=blocks,
        accepted=accepted,
        rejected=rejected.count,
        error_message=rejected.message("spans"),
    )


def _check_attributes(span: Any) -> None:
    """A rejected span's attributes are still read: invalid bytes there make the whole request malformed, as they do
    for the protobuf library's full parse (raises MalformedRequest)."""
    attribute_map(span.attributes)
    for event in span.events:
        attribute_map(event.attributes)
    for link in span.links:
        attribute_map(link.attributes)


def _events_storable(events: Iterable[Any]) -> bool:
    return all(event.time_unix_nano <= MAX_TIMESTAMP_NS for event in events)


def _links_storable(links: Iterable[Any]) -> bool:
    return all(
        (not link.trace_id or len(link.trace_id) == 16) and (not link.span_id or len(link.span_id) == 8)
        for link in links
    )
