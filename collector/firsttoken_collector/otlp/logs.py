"""ExportLogsServiceRequest -> `otel_logs` rows, as the ClickHouse exporter writes them.

Columns follow `tables.LOG_COLUMNS`. Timestamp falls back to the observed time when unset; TraceFlags is the low byte of
`flags`; SeverityNumber is stored as UInt8 (Go's uint8 conversion); Body is `AsString()` of the body value. A record
with a trace id other than empty/16 bytes or a span id other than empty/8 bytes, or a time past DateTime64(9)'s range,
is rejected.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from firsttoken_collector.otlp.anyvalue import attributes_to_map, string_attribute, value_to_string
from firsttoken_collector.otlp.decoded import Decoded
from firsttoken_collector.otlp.rejections import Rejections
from firsttoken_collector.otlp.rowformat import MAX_TIMESTAMP_NS, encode_rows, span_id_hex, timestamp, trace_id_hex
from firsttoken_collector.tables import OTEL_LOGS


def decode_logs(request: ExportLogsServiceRequest) -> Decoded:
    """Rows for every storable log record, plus partial-success counts."""
    rows: list[list[Any]] = []
    rejected = Rejections()
    for resource_logs in request.resource_logs:
        resource_attributes = resource_logs.resource.attributes
        resource_map = attributes_to_map(resource_attributes)
        service_name = string_attribute(resource_attributes, "service.name")
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_map = attributes_to_map(scope.attributes)
            for record in scope_logs.log_records:
                trace_id = record.trace_id
                span_id = record.span_id
                if (trace_id and len(trace_id) != 16) or (span_id and len(span_id) != 8):
                    rejected.add("trace_id must be empty or 16 bytes and span_id empty or 8 bytes")
                    continue
                nanos = record.time_unix_nano or record.observed_time_unix_nano
                if nanos > MAX_TIMESTAMP_NS:
                    rejected.add("time_unix_nano is past 2262-04-11")
                    continue
                rows.append(
                    [
                        timestamp(nanos),
                        trace_id_hex(trace_id) if trace_id else "",
                        span_id_hex(span_id) if span_id else "",
                        record.flags & 0xFF,
                        record.severity_text,
                        record.severity_number & 0xFF,
                        service_name,
                        value_to_string(record.body),
                        resource_logs.schema_url,
                        resource_map,
                        scope_logs.schema_url,
                        scope.name,
                        scope.version,
                        scope_map,
                        attributes_to_map(record.attributes),
                        record.event_name,
                    ]
                )
    return Decoded(
        signal="logs",
        blocks={OTEL_LOGS: encode_rows(rows)} if rows else {},
        accepted=len(rows),
        rejected=rejected.count,
        error_message=rejected.message("log records"),
    )
