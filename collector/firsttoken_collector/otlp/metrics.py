"""ExportMetricsServiceRequest -> the exporter's five `otel_metrics_*` tables (one row per data point).

Columns follow `tables.*_COLUMNS`. As in the exporter: int values become Float64, exemplar ids are the hex of the
16/8-byte arrays (all zeros when absent), unset optional sum/min/max are 0, and a metric with no data is skipped. A data
point whose exemplar ids have the wrong length or whose timestamps are past DateTime64(9)'s range is rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Exemplar

from firsttoken_collector.otlp.anyvalue import attributes_to_map, value_to_string
from firsttoken_collector.otlp.decoded import Decoded, RowBlock
from firsttoken_collector.otlp.rejections import Rejections
from firsttoken_collector.otlp.rowformat import MAX_TIMESTAMP_NS, encode_rows, timestamp
from firsttoken_collector.tables import (
    OTEL_METRICS_EXP_HISTOGRAM,
    OTEL_METRICS_GAUGE,
    OTEL_METRICS_HISTOGRAM,
    OTEL_METRICS_SUM,
    OTEL_METRICS_SUMMARY,
)


class _BadPoint(ValueError):
    """A data point that cannot be stored; the message is the partial-success reason."""


def _exemplars(exemplars: Iterable[Exemplar]) -> list[list[Any]]:
    """The five Exemplars.* columns (FilteredAttributes, TimeUnix, Value, SpanId, TraceId)."""
    attributes: list[dict[str, str]] = []
    times: list[str] = []
    values: list[float] = []
    span_ids: list[str] = []
    trace_ids: list[str] = []
    for exemplar in exemplars:
        trace_id = exemplar.trace_id
        span_id = exemplar.span_id
        if (trace_id and len(trace_id) != 16) or (span_id and len(span_id) != 8):
            raise _BadPoint("exemplar ids must be 16 (trace) and 8 (span) bytes")
        if exemplar.time_unix_nano > MAX_TIMESTAMP_NS:
            raise _BadPoint("exemplar time_unix_nano is past 2262-04-11")
        which = exemplar.WhichOneof("value")
        attributes.append(attributes_to_map(exemplar.filtered_attributes))
        times.append(timestamp(exemplar.time_unix_nano))
        values.append(
            exemplar.as_double if which == "as_double" else float(exemplar.as_int) if which == "as_int" else 0.0
        )
        span_ids.append((span_id or bytes(8)).hex())
        trace_ids.append((trace_id or bytes(16)).hex())
    return [attributes, times, values, span_ids, trace_ids]


def _times(start: int, time: int) -> list[str]:
    if start > MAX_TIMESTAMP_NS or time > MAX_TIMESTAMP_NS:
        raise _BadPoint("timestamp is past 2262-04-11")
    return [timestamp(start), timestamp(time)]


def decode_metrics(request: ExportMetricsServiceRequest) -> Decoded:
    """Rows for every storable data point, per metrics table, plus partial-success counts."""
    gauge: list[list[Any]] = []
    sums: list[list[Any]] = []
    histograms: list[list[Any]] = []
    exp_histograms: list[list[Any]] = []
    summaries: list[list[Any]] = []
    rejected = Rejections()
    for resource_metrics in request.resource_metrics:
        resource = resource_metrics.resource
        resource_map = attributes_to_map(resource.attributes)
        service_name = ""
        for pair in resource.attributes:
            if pair.key == "service.name":
                service_name = value_to_string(pair.value)  # the metrics exporter uses AsString here
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            resource_and_scope = [
                resource_map,
                resource_metrics.schema_url,
                scope.name,
                scope.version,
                attributes_to_map(scope.attributes),
                scope.dropped_attributes_count,
                scope_metrics.schema_url,
                service_name,
            ]
            for metric in scope_metrics.metrics:
                common = [*resource_and_scope, metric.name, metric.description, metric.unit]
                kind = metric.WhichOneof("data")
                try:
                    if kind == "gauge" or kind == "sum":
                        data = metric.gauge if kind == "gauge" else metric.sum
                        for point in data.data_points:
                            try:
                                which = point.WhichOneof("value")
                                value = (
                                    point.as_double
                                    if which == "as_double"
                                    else float(point.as_int)
                                    if which == "as_int"
                                    else 0.0
                                )
                                row = [
                                    *common,
                                    attributes_to_map(point.attributes),
                                    *_times(point.start_time_unix_nano, point.time_unix_nano),
                                    value,
                                    point.flags,
                                    *_exemplars(point.exemplars),
                                ]
                                if kind == "sum":
                                    row.append(metric.sum.aggregation_temporality)
                                    row.append(metric.sum.is_monotonic)
                                    sums.append(row)
                                else:
                                    gauge.append(row)
                            except _BadPoint as problem:
                                rejected.add(str(problem))
                    elif kind == "histogram":
                        for hpoint in metric.histogram.data_points:
                            try:
                                histograms.append(
                                    [
                                        *common,
                                        attributes_to_map(hpoint.attributes),
                                        *_times(hpoint.start_time_unix_nano, hpoint.time_unix_nano),
                                        hpoint.count,
                                        hpoint.sum,
                                        list(hpoint.bucket_counts),
                                        list(hpoint.explicit_bounds),
                                        *_exemplars(hpoint.exemplars),
                                        hpoint.flags,
                                        hpoint.min,
                                        hpoint.max,
                                        metric.histogram.aggregation_temporality,
                                    ]
                                )
                            except _BadPoint as problem:
                                rejected.add(str(problem))
                    elif kind == "exponential_histogram":
                        for epoint in metric.exponential_histogram.data_points:
                            try:
                                exp_histograms.append(
                                    [
                                        *common,
                                        attributes_to_map(epoint.attributes),
                                        *_times(epoint.start_time_unix_nano, epoint.time_unix_nano),
                                        epoint.count,
                                        epoint.sum,
                                        epoint.scale,
                                        epoint.zero_count,
                                        epoint.positive.offset,
                                        list(epoint.positive.bucket_counts),
                                        epoint.negative.offset,
                                        list(epoint.negative.bucket_counts),
                                        *_exemplars(epoint.exemplars),
                                        epoint.flags,
                                        epoint.min,
                                        epoint.max,
                                        metric.exponential_histogram.aggregation_temporality,
                                    ]
                                )
                            except _BadPoint as problem:
                                rejected.add(str(problem))
                    elif kind == "summary":
                        for spoint in metric.summary.data_points:
                            try:
                                summaries.append(
                                    [
                                        *common,
                                        attributes_to_map(spoint.attributes),
                                        *_times(spoint.start_time_unix_nano, spoint.time_unix_nano),
                                        spoint.count,
                                        spoint.sum,
                                        [quantile.quantile for quantile in spoint.quantile_values],
                                        [quantile.value for quantile in spoint.quantile_values],
                                        spoint.flags,
                                    ]
                                )
                            except _BadPoint as problem:
                                rejected.add(str(problem))
                except _BadPoint as problem:  # pragma: no cover - every raise is caught per point above
                    rejected.add(str(problem))
    blocks: dict[str, RowBlock] = {}
    accepted = 0
    for table, rows in (
        (OTEL_METRICS_GAUGE, gauge),
        (OTEL_METRICS_SUM, sums),
        (OTEL_METRICS_HISTOGRAM, histograms),
        (OTEL_METRICS_EXP_HISTOGRAM, exp_histograms),
        (OTEL_METRICS_SUMMARY, summaries),
    ):
        if rows:
            blocks[table] = encode_rows(rows)
            accepted += len(rows)
    return Decoded(
        signal="metrics",
        blocks=blocks,
        accepted=accepted,
        rejected=rejected.count,
        error_message=rejected.message("data points"),
    )
