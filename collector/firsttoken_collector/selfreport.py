"""The collector's own health, written every few seconds as OTLP metrics into the ClickHouse it feeds.

The compose deployment has Grafana and ClickHouse but no Prometheus, so `/metrics` alone would leave the alert rules
blind to the collector: a growing spill or failing inserts would only show as "ingestion stalled" much later. The
counters and gauges of `/metrics` become an ExportMetricsServiceRequest (service.name `firsttoken-collector`,
service.instance.id the write-ahead log's id) and go through the same decode -> log -> batch path as any export, so
the values written while ClickHouse is down land, with their own timestamps, once it is back. Best effort: a sample
the pipeline cannot take (spill full, shutting down) is skipped, never waited for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, NumberDataPoint

from firsttoken_collector.otlp.decoded import Decoded, Signal
from firsttoken_collector.pipeline.sink import Backpressure
from firsttoken_collector.selfmetrics import SelfMetrics

log = logging.getLogger(__name__)

SERVICE_NAME = "firsttoken-collector"
SCOPE_NAME = "firsttoken_collector.selfreport"


def _attributes(values: dict[str, str]) -> list[KeyValue]:
    return [KeyValue(key=key, value=AnyValue(string_value=value)) for key, value in values.items()]


def metrics_request(
    metrics: SelfMetrics, *, instance_id: str, time_ns: int, start_ns: int, version: str = ""
) -> ExportMetricsServiceRequest:
    """Counters as cumulative monotonic sums (from the collector's start), gauges as gauges."""
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.attributes.extend(
        _attributes({"service.name": SERVICE_NAME, "service.instance.id": instance_id})
    )
    scope_metrics = resource_metrics.scope_metrics.add()
    scope_metrics.scope.name = SCOPE_NAME
    scope_metrics.scope.version = version
    by_name: dict[str, Any] = {}
    for spec, labels, value in metrics.snapshot():
        metric = by_name.get(spec.name)
        if metric is None:
            metric = by_name[spec.name] = scope_metrics.metrics.add(name=spec.name, description=spec.help)
            if spec.kind == "counter":
                metric.sum.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
                metric.sum.is_monotonic = True
        points = metric.sum.data_points if spec.kind == "counter" else metric.gauge.data_points
        point: NumberDataPoint = points.add(time_unix_nano=time_ns, as_double=float(value))
        if spec.kind == "counter":
            point.start_time_unix_nano = start_ns
        point.attributes.extend(_attributes(labels))
    return request


class SelfReporter:
    """A daemon thread: every `interval` seconds, one sample of the self-metrics into the pipeline."""

    def __init__(
        self,
        metrics: SelfMetrics,
        accept: Callable[[Decoded, bytes], None],
        decode: Callable[[Signal, bytes], Decoded],
        *,
        interval: float,
        instance_id: str,
        refresh: Callable[[], None] = lambda: None,
    ) -> None:
        self._metrics, self._accept, self._decode, self._refresh = metrics, accept, decode, refresh
        self._interval, self._instance_id = interval, instance_id
        self._start_ns = time.time_ns()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="firsttoken-selfreport", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def report_once(self) -> bool:
        """One sample; False when the pipeline could not take it (the next one will)."""
        self._refresh()
        request = metrics_request(
            self._metrics, instance_id=self._instance_id, time_ns=time.time_ns(), start_ns=self._start_ns
        )
        payload = request.SerializeToString()
        try:
            self._accept(self._decode("metrics", payload), payload)
        except Backpressure as exc:
            log.debug("self-metrics sample skipped: %s", exc)
            return False
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.report_once()
            except Exception:  # never let self-reporting take the collector down
                log.exception("self-metrics sample failed")
