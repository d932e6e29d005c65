"""The exporter-compatible tables the collector writes, and the column order of every insert.

One module owns these names because three parts must agree on them: the OTLP decoders (which build rows in this
order), the writer (which names the columns in its INSERT), and the migrations (which create the tables). The layout is
the OpenTelemetry Collector's ClickHouse exporter's (`exporter/clickhouseexporter`), so either collector can write the
same tables and everything derived from `otel_traces` by materialized views fills the same way.

Nested columns are inserted flattened (`Events.Timestamp`, ...), as ClickHouse stores them with the default
`flatten_nested=1`. DateTime64(9) values are nanoseconds since the epoch.
"""

from __future__ import annotations

from typing import Final

OTEL_TRACES: Final = "otel_traces"
OTEL_LOGS: Final = "otel_logs"
OTEL_METRICS_GAUGE: Final = "otel_metrics_gauge"
OTEL_METRICS_SUM: Final = "otel_metrics_sum"
OTEL_METRICS_HISTOGRAM: Final = "otel_metrics_histogram"
OTEL_METRICS_EXP_HISTOGRAM: Final = "otel_metrics_exp_histogram"
OTEL_METRICS_SUMMARY: Final = "otel_metrics_summary"

TRACE_COLUMNS: Final[tuple[str, ...]] = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
)

# TimestampTime is DEFAULT toDateTime(Timestamp): not inserted.
LOG_COLUMNS: Final[tuple[str, ...]] = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "TraceFlags",
    "SeverityText",
    "SeverityNumber",
    "ServiceName",
    "Body",
    "ResourceSchemaUrl",
    "ResourceAttributes",
    "ScopeSchemaUrl",
    "ScopeName",
    "ScopeVersion",
    "ScopeAttributes",
    "LogAttributes",
    "EventName",
)

_METRIC_COMMON: Final[tuple[str, ...]] = (
    "ResourceAttributes",
    "ResourceSchemaUrl",
    "ScopeName",
    "ScopeVersion",
    "ScopeAttributes",
    "ScopeDroppedAttrCount",
    "ScopeSchemaUrl",
    "ServiceName",
    "MetricName",
    "MetricDescription",
    "MetricUnit",
    "Attributes",
    "StartTimeUnix",
    "TimeUnix",
)
_EXEMPLARS: Final[tuple[str, ...]] = (
    "Exemplars.FilteredAttributes",
    "Exemplars.TimeUnix",
    "Exemplars.Value",
    "Exemplars.SpanId",
    "Exemplars.TraceId",
)

GAUGE_COLUMNS: Final = (*_METRIC_COMMON, "Value", "Flags", *_EXEMPLARS)
SUM_COLUMNS: Final = (*_METRIC_COMMON, "Value", "Flags", *_EXEMPLARS, "AggregationTemporality", "IsMonotonic")
HISTOGRAM_COLUMNS: Final = (
    *_METRIC_COMMON,
    "Count",
    "Sum",
    "BucketCounts",
    "ExplicitBounds",
    *_EXEMPLARS,
    "Flags",
    "Min",
    "Max",
    "AggregationTemporality",
)
EXP_HISTOGRAM_COLUMNS: Final = (
    *_METRIC_COMMON,
    "Count",
    "Sum",
    "Scale",
    "ZeroCount",
    "PositiveOffset",
    "PositiveBucketCounts",
    "NegativeOffset",
    "NegativeBucketCounts",
    *_EXEMPLARS,
    "Flags",
    "Min",
    "Max",
    "AggregationTemporality",
)
SUMMARY_COLUMNS: Final = (
    *_METRIC_COMMON,
    "Count",
    "Sum",
    "ValueAtQuantiles.Quantile",
    "ValueAtQuantiles.Value",
    "Flags",
)

INSERT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    OTEL_TRACES: TRACE_COLUMNS,
    OTEL_LOGS: LOG_COLUMNS,
    OTEL_METRICS_GAUGE: GAUGE_COLUMNS,
    OTEL_METRICS_SUM: SUM_COLUMNS,
    OTEL_METRICS_HISTOGRAM: HISTOGRAM_COLUMNS,
    OTEL_METRICS_EXP_HISTOGRAM: EXP_HISTOGRAM_COLUMNS,
    OTEL_METRICS_SUMMARY: SUMMARY_COLUMNS,
}
"""Every table the collector inserts into, with its insert column order (the decoders build rows in this order)."""
