"""The collector's own metrics, rendered in the Prometheus text format (0.0.4) on `/metrics`.

Every metric is declared once below with its type, help text and label names; `inc`/`set`/`observe` on an undeclared
name or with the wrong label names raise, so a typo cannot silently start a new series. A plain lock is enough: updates
are a dict lookup and an add.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]

_DURATION_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = _DURATION_BUCKETS


_PREFIX = "firsttoken_collector_"

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        _PREFIX + "received_items_total", "counter", "Spans, data points and log records accepted.", ("signal",)
    ),
    MetricSpec(
        _PREFIX + "rejected_items_total",
        "counter",
        "Items not stored: partial-success rejections, malformed or refused requests.",
        ("signal", "reason"),
    ),
    MetricSpec(
        _PREFIX + "requests_total",
        "counter",
        "Export requests answered, by transport, signal and status code.",
        ("transport", "signal", "code"),
    ),
    MetricSpec(
        _PREFIX + "pushed_back_requests_total",
        "counter",
        "Export requests answered 429/503 (gRPC UNAVAILABLE) with a retry delay, by signal and cause.",
        ("signal", "cause"),
    ),
    MetricSpec(_PREFIX + "written_rows_total", "counter", "Rows inserted into ClickHouse.", ("table",)),
    MetricSpec(_PREFIX + "queue_depth_rows", "gauge", "Rows waiting in the in-memory queue."),
    MetricSpec(_PREFIX + "queue_bytes", "gauge", "Bytes waiting in the in-memory queue."),
    MetricSpec(_PREFIX + "spill_bytes", "gauge", "Bytes in the on-disk spill waiting for ClickHouse."),
    MetricSpec(_PREFIX + "insert_duration_seconds", "histogram", "Time per ClickHouse insert.", ("table",)),
    MetricSpec(_PREFIX + "clickhouse_errors_total", "counter", "Failed ClickHouse inserts and queries."),
    MetricSpec(
        _PREFIX + "quarantined_requests_total",
        "counter",
        "Acknowledged requests ClickHouse refused outright, kept in the quarantine directory.",
    ),
    MetricSpec(_PREFIX + "request_duration_seconds", "histogram", "Time to answer an export request.", ("transport",)),
)

LabelKey = tuple[str, ...]
_INF_BUCKET = 'le="+Inf"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


def _labels(names: tuple[str, ...], values: LabelKey, extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Histogram:
    __slots__ = ("count", "counts", "sum")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        self.count = 0
        self.sum = 0.0


class SelfMetrics:
    """A registry of the metrics declared in METRICS (or the ones given)."""

    def __init__(self, specs: tuple[MetricSpec, ...] = METRICS) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._lock = threading.Lock()
        self._values: dict[str, dict[LabelKey, float]] = {spec.name: {} for spec in specs}
        self._histograms: dict[str, dict[LabelKey, _Histogram]] = {spec.name: {} for spec in specs}

    def _key(self, name: str, kind: tuple[Kind, ...], labels: dict[str, str]) -> tuple[MetricSpec, LabelKey]:
        spec = self._specs.get(name)
        if spec is None:
            raise KeyError(f"unknown metric {name!r}")
        if spec.kind not in kind:
            raise TypeError(f"{name} is a {spec.kind}")
        if set(labels) != set(spec.labels):
            raise ValueError(f"{name} takes labels {spec.labels}, got {tuple(labels)}")
        return spec, tuple(str(labels[label]) for label in spec.labels)

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        _, key = self._key(name, ("counter", "gauge"), labels)
        if value < 0 and self._specs[name].kind == "counter":
            raise ValueError(f"counter {name} cannot decrease")
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0.0) + value

    def set(self, name: str, value: float, **labels: str) -> None:
        _, key = self._key(name, ("gauge",), labels)
        with self._lock:
            self._values[name][key] = value

    def observe(self, name: str, value: float, **labels: str) -> None:
        spec, key = self._key(name, ("histogram",), labels)
        with self._lock:
            series = self._histograms[name]
            histogram = series.get(key)
            if histogram is None:
                histogram = series[key] = _Histogram(len(spec.buckets))
            index = bisect.bisect_left(spec.buckets, value)
            if index < len(spec.buckets):
                histogram.counts[index] += 1
            histogram.count += 1
            histogram.sum += value

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter or gauge series (a histogram's observation count); 0 if never set."""
        spec, key = self._key(name, ("counter", "gauge", "histogram"), labels)
        with self._lock:
            if spec.kind == "histogram":
                histogram = self._histograms[name].get(key)
                return float(histogram.count) if histogram else 0.0
            return self._values[name].get(key, 0.0)

    def snapshot(self) -> list[tuple[MetricSpec, dict[str, str], float]]:
        """Every counter and gauge series with its labels and value (an unlabelled series never touched is 0)."""
        out: list[tuple[MetricSpec, dict[str, str], float]] = []
        with self._lock:
            for name, spec in self._specs.items():
                if spec.kind == "histogram":
                    continue
                series = self._values[name] or ({(): 0.0} if not spec.labels else {})
                for key, value in sorted(series.items()):
                    out.append((spec, dict(zip(spec.labels, key, strict=True)), value))
        return out

    def render(self) -> str:
        """All series in the Prometheus text exposition format 0.0.4."""
        lines: list[str] = []
        with self._lock:
            for name, spec in self._specs.items():
                lines.append(f"# HELP {name} {spec.help}")
                lines.append(f"# TYPE {name} {spec.kind}")
                if spec.kind != "histogram":
                    series = self._values[name]
                    if not series and not spec.labels:
                        lines.append(f"{name} 0")
                    for key, value in sorted(series.items()):
                        lines.append(f"{name}{_labels(spec.labels, key)} {_number(value)}")
                    continue
                for key, histogram in sorted(self._histograms[name].items()):
                    cumulative = 0
                    for bound, count in zip(spec.buckets, histogram.counts, strict=True):
                        cumulative += count
                        le = f'le="{_number(bound)}"'
                        lines.append(f"{name}_bucket{_labels(spec.labels, key, le)} {cumulative}")
                    lines.append(f"{name}_bucket{_labels(spec.labels, key, _INF_BUCKET)} {histogram.count}")
                    lines.append(f"{name}_sum{_labels(spec.labels, key)} {_number(histogram.sum)}")
                    lines.append(f"{name}_count{_labels(spec.labels, key)} {histogram.count}")
        return "\n".join(lines) + "\n"
