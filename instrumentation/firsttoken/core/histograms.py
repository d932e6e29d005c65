"""The four GenAI histograms aggregated inside firsttoken, handed to the metric readers firsttoken itself created.

The OpenTelemetry SDK's `Histogram.record` costs 12-25 microseconds (it cleans, copies and hashes the attributes on
every call), three to five of them per LLM call. When firsttoken configures the meter provider itself (the
application set none; see `_otel_setup`), its reader is a `HubPeriodicExportingMetricReader` and the samples are
aggregated here instead: per metric key (operation, provider, models, server, error type) a flat list of bucket
counts with the semantic-convention boundaries, sum, count, min and max, updated with `bisect` and integer/float
arithmetic (~1-2 us per call in the background drain). At each collection the reader adds the histograms to what the
SDK collected, as the SDK's own explicit-bucket aggregation would have produced them: the same names, units,
descriptions, boundaries and attribute sets; cumulative by default, delta when the exporter prefers delta for
histograms; the reader's cardinality limit (2,000 attribute sets per histogram unless configured), with further sets
folded into one `otel.metric.overflow=true` point; no exemplars (the SDK's default trace-based exemplar filter gives
none for the drain thread either; with `OTEL_METRICS_EXEMPLAR_FILTER=always_on` the SDK path would attach exemplars
without trace context, this one does not). `tests/instrumentation/test_metric_aggregation.py` compares both paths
point for point.

An application that passes (or globally set) its own MeterProvider keeps the SDK histograms: firsttoken does not
reach into readers it did not create.
"""

from __future__ import annotations

import os
import threading
import weakref
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from math import inf
from time import time_ns
from typing import Any, NamedTuple

from opentelemetry.metrics import Histogram as APIHistogram
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    MetricExporter,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.metrics.view import DefaultAggregation, ExplicitBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from firsttoken import semconv
from firsttoken._guard import report_internal_error
from firsttoken._version import __version__

# (operation, provider, request model, response model, server address, error type)
MetricKey = tuple[str, str, str | None, str | None, str | None, str | None]


def key_attributes(key: MetricKey) -> dict[str, Any]:
    """The semconv attributes of a metric key; absent optional values are left out, as the SDK path records them."""
    operation, provider, request_model, response_model, server, error_type = key
    attrs: dict[str, Any] = {semconv.OPERATION_NAME: operation, semconv.PROVIDER_NAME: provider}
    if request_model:
        attrs[semconv.REQUEST_MODEL] = request_model
    if response_model:
        attrs[semconv.RESPONSE_MODEL] = response_model
    if server:
        attrs[semconv.SERVER_ADDRESS] = server
    if error_type:
        attrs[semconv.ERROR_TYPE] = error_type
    return attrs


class HistogramSpec(NamedTuple):
    name: str
    unit: str
    description: str
    boundaries: tuple[float, ...]


DURATION = HistogramSpec(
    semconv.METRIC_OPERATION_DURATION, "s", "GenAI operation duration", tuple(semconv.DURATION_BUCKETS)
)
TOKEN_USAGE = HistogramSpec(
    semconv.METRIC_TOKEN_USAGE, "{token}", "Number of input and output tokens used", tuple(semconv.TOKEN_BUCKETS)
)
TIME_TO_FIRST_CHUNK = HistogramSpec(
    semconv.METRIC_TIME_TO_FIRST_CHUNK,
    "s",
    "Time from issuing a streaming request to the first content chunk",
    tuple(semconv.DURATION_BUCKETS),
)
TIME_PER_OUTPUT_CHUNK = HistogramSpec(
    semconv.METRIC_TIME_PER_OUTPUT_CHUNK,
    "s",
    "Mean time between output chunks after the first, one sample per stream",
    tuple(semconv.DURATION_BUCKETS),
)
HISTOGRAMS = (DURATION, TOKEN_USAGE, TIME_TO_FIRST_CHUNK, TIME_PER_OUTPUT_CHUNK)

# A sample's five values (duration, input tokens, output tokens, ttfc, tpoc) go to these histograms, the tokens
# with gen_ai.token.type input / output.
_SLOT_HISTOGRAM = (0, 1, 1, 2, 3)
_SLOT_TOKEN_TYPE = (None, "input", "output", None, None)
_SLOT_BOUNDS = tuple(HISTOGRAMS[h].boundaries for h in _SLOT_HISTOGRAM)

# One histogram of one attribute set: [created ns, count, sum, min, max, bucket 0, ..., bucket n]
_COUNT, _SUM, _MIN, _MAX, _BUCKETS = 1, 2, 3, 4, 5
_OVERFLOW: Any = ("otel.metric.overflow",)
_OVERFLOW_ATTRIBUTES = {"otel.metric.overflow": True}
_DEFAULT_CARDINALITY_LIMIT = 2000
# Keys aggregated between two collections before they are folded into the readers' state early.
_MAX_PENDING_KEYS = 4096


def _new_histogram(n_bounds: int, created_ns: int) -> list[Any]:
    h: list[Any] = [created_ns, 0, 0, inf, -inf]
    h.extend([0] * (n_bounds + 1))
    return h


def _merge(into: list[Any], h: list[Any]) -> None:
    into[_COUNT] += h[_COUNT]
    into[_SUM] += h[_SUM]
    if h[_MIN] < into[_MIN]:
        into[_MIN] = h[_MIN]
    if h[_MAX] > into[_MAX]:
        into[_MAX] = h[_MAX]
    for i in range(_BUCKETS, len(h)):
        into[i] += h[i]


class _ReaderState:
    __slots__ = ("last_collect_ns", "limit", "streams", "temporality")

    def __init__(self, temporality: AggregationTemporality, limit: int) -> None:
        self.temporality = temporality
        self.limit = limit
        # per histogram: (metric key, token type) -> [start ns, histogram]
        self.streams: list[dict[Any, list[Any]]] = [{} for _ in HISTOGRAMS]
        self.last_collect_ns: int | None = None


def _histogram_preferences(reader: MetricReader) -> tuple[AggregationTemporality, int, bool]:
    """The reader's temporality and cardinality limit for histograms, and whether it aggregates them as by default.

    MetricReader exposes these only as private tables keyed by the SDK's instrument classes; read defensively.
    """
    temporality = AggregationTemporality.CUMULATIVE
    limit = _DEFAULT_CARDINALITY_LIMIT
    default = True
    for cls, value in getattr(reader, "_instrument_class_temporality", {}).items():
        if isinstance(cls, type) and issubclass(cls, APIHistogram):
            temporality = value
    for cls, value in getattr(reader, "_instrument_class_cardinality_limit", {}).items():
        if isinstance(cls, type) and issubclass(cls, APIHistogram):
            limit = value
    for cls, value in getattr(reader, "_instrument_class_aggregation", {}).items():
        if isinstance(cls, type) and issubclass(cls, APIHistogram):
            default = _same_as_default(value)
    return temporality, limit, default


def _same_as_default(aggregation: Any) -> bool:
    """An aggregation that gives our histograms what the default does: explicit buckets at the advisory boundaries,
    min and max recorded (the OTLP exporters' default preference is an ExplicitBucketHistogramAggregation())."""
    if isinstance(aggregation, DefaultAggregation):
        return True
    return (
        isinstance(aggregation, ExplicitBucketHistogramAggregation)
        and getattr(aggregation, "_boundaries", 0) is None
        and getattr(aggregation, "_record_min_max", False) is True
    )


def _reset_lock(ref: weakref.ref[HistogramHub]) -> None:
    hub = ref()
    if hub is not None:
        hub.lock = threading.Lock()


class HistogramHub:
    """The GenAI histograms of one meter provider, aggregated in-process, one state per reader."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._pending: dict[MetricKey, list[Any]] = {}
        self._readers: dict[int, _ReaderState] = {}
        self.usable = True
        self._scope = InstrumentationScope("firsttoken", __version__)
        self._attrs_cache: dict[tuple[MetricKey, str | None], dict[str, Any]] = {}
        self.resource: Resource | None = None
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reset_lock(ref))

    def attach(self, reader: MetricReader) -> None:
        temporality, limit, default = _histogram_preferences(reader)
        if not default:
            # a view or exporter asks for another histogram aggregation: leave the histograms to the SDK
            self.usable = False
        with self.lock:
            self._readers[id(reader)] = _ReaderState(temporality, limit)

    @property
    def has_readers(self) -> bool:
        return bool(self._readers)

    def absorb(self, backlog: deque[Any]) -> int:
        """Aggregate and remove every sample in `backlog`; the caller holds `self.lock`. Returns the count."""
        pending = self._pending
        bounds = _SLOT_BOUNDS
        done = 0
        now = 0
        while backlog:
            sample = backlog.popleft()
            key = sample[:6]
            slots = pending.get(key)
            if slots is None:
                if len(pending) >= _MAX_PENDING_KEYS:
                    self._fold()
                slots = pending[key] = [None, None, None, None, None]
            for i in range(5):
                v = sample[6 + i]
                if v is None:
                    continue
                h = slots[i]
                if h is None:
                    if not now:
                        now = time_ns()
                    h = slots[i] = _new_histogram(len(bounds[i]), now)
                h[_COUNT] += 1
                h[_SUM] += v
                if v < h[_MIN]:
                    h[_MIN] = v
                if v > h[_MAX]:
                    h[_MAX] = v
                h[_BUCKETS + bisect_left(bounds[i], v)] += 1
            done += 1
        if not self._readers:
            pending.clear()
        return done

    def _fold(self) -> None:
        """Move what was aggregated since the last fold into every reader's state; the caller holds `self.lock`."""
        pending = self._pending
        if not pending:
            return
        for state in self._readers.values():
            streams = state.streams
            limit = state.limit
            since = state.last_collect_ns
            for key, slots in pending.items():
                for i in range(5):
                    h = slots[i]
                    if h is None:
                        continue
                    stream = streams[_SLOT_HISTOGRAM[i]]
                    skey = (key, _SLOT_TOKEN_TYPE[i])
                    entry = stream.get(skey)
                    if entry is None:
                        if len(stream) >= limit:
                            skey = _OVERFLOW
                            entry = stream.get(skey)
                        if entry is None:
                            start = since if since is not None else h[0]
                            entry = stream[skey] = [start, _new_histogram(len(_SLOT_BOUNDS[i]), start)]
                    _merge(entry[1], h)
        pending.clear()

    def _attributes(self, skey: Any) -> dict[str, Any]:
        if skey is _OVERFLOW:
            return dict(_OVERFLOW_ATTRIBUTES)
        cached = self._attrs_cache.get(skey)
        if cached is not None:
            return cached
        key, token_type = skey
        attrs: dict[str, Any] = key_attributes(key)
        if token_type:
            attrs[semconv.TOKEN_TYPE] = token_type
        if len(self._attrs_cache) < 2 * _MAX_PENDING_KEYS:
            self._attrs_cache[skey] = attrs
        # the SDK hands each point its own copy of the attributes; so do we (an exporter may not mutate, but could)
        return dict(attrs)

    def collect(self, reader: MetricReader, now_ns: int) -> list[Metric]:
        """The histograms for `reader` at a collection taken at `now_ns` (delta readers start a new window)."""
        with self.lock:
            self._fold()
            state = self._readers.get(id(reader))
            if state is None:
                return []
            delta = state.temporality is AggregationTemporality.DELTA
            out: list[Metric] = []
            for spec, stream in zip(HISTOGRAMS, state.streams, strict=True):
                if not stream:
                    continue
                points = []
                for skey, (start, h) in stream.items():
                    points.append(
                        HistogramDataPoint(
                            attributes=self._attributes(skey),
                            start_time_unix_nano=start,
                            time_unix_nano=now_ns,
                            count=h[_COUNT],
                            sum=h[_SUM],
                            bucket_counts=tuple(h[_BUCKETS:]),
                            explicit_bounds=spec.boundaries,
                            min=h[_MIN],
                            max=h[_MAX],
                            exemplars=[],
                        )
                    )
                out.append(
                    Metric(
                        name=spec.name,
                        description=spec.description,
                        unit=spec.unit,
                        data=Histogram(data_points=points, aggregation_temporality=state.temporality),
                    )
                )
            if delta:
                state.streams = [{} for _ in HISTOGRAMS]
                state.last_collect_ns = now_ns
            return out

    def merge_into(self, reader: MetricReader, data: MetricsData) -> MetricsData:
        """What the SDK collected for `reader`, with the hub's histograms added to firsttoken's scope."""
        resource_metrics = list(data.resource_metrics)
        scope_metrics: list[ScopeMetrics] = []
        ours: ScopeMetrics | None = None
        if resource_metrics:
            scope_metrics = list(resource_metrics[0].scope_metrics)
            for sm in scope_metrics:
                if sm.scope == self._scope:
                    ours = sm
        now_ns = _collection_time(ours) or time_ns()
        added = self.collect(reader, now_ns)
        if not added:
            return data
        if ours is not None:
            index = scope_metrics.index(ours)
            scope_metrics[index] = ScopeMetrics(scope=ours.scope, metrics=[*added, *ours.metrics], schema_url="")
        else:
            scope_metrics.append(ScopeMetrics(scope=self._scope, metrics=added, schema_url=""))
        if resource_metrics:
            first = resource_metrics[0]
            resource_metrics[0] = ResourceMetrics(
                resource=first.resource, scope_metrics=scope_metrics, schema_url=first.schema_url
            )
        else:
            resource = self.resource or Resource.create()
            resource_metrics = [
                ResourceMetrics(resource=resource, scope_metrics=scope_metrics, schema_url=resource.schema_url)
            ]
        return MetricsData(resource_metrics=resource_metrics)


def _collection_time(scope_metrics: ScopeMetrics | None) -> int | None:
    """The SDK's timestamp of this collection, from a point it produced in firsttoken's scope (so all agree)."""
    if scope_metrics is None:
        return None
    for metric in scope_metrics.metrics:
        for point in getattr(metric.data, "data_points", ()):
            return int(point.time_unix_nano)
    return None


# meter provider -> its hub
_HUBS: weakref.WeakKeyDictionary[Any, HistogramHub] = weakref.WeakKeyDictionary()


def bind_hub(meter_provider: MeterProvider, hub: HistogramHub, resource: Resource) -> None:
    """Route the GenAI histograms of `meter_provider` (whose readers all carry `hub`) through the hub."""
    _HUBS[meter_provider] = hub
    hub.resource = resource


def hub_for(meter_provider: MeterProvider) -> HistogramHub | None:
    try:
        hub = _HUBS.get(meter_provider)
    except TypeError:  # not weak-referenceable: not one of ours
        return None
    return hub if hub is not None and hub.usable else None


class _HubReader(MetricReader):
    """A reader that adds its hub's histograms to each collection (mixed into the SDK's concrete readers)."""

    _firsttoken_hub: HistogramHub

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        try:
            metrics_data = self._firsttoken_hub.merge_into(self, metrics_data)
        except Exception as exc:  # the SDK's own metrics still go out
            report_internal_error("metrics.collect", exc)
        super()._receive_metrics(metrics_data, timeout_millis, **kwargs)  # type: ignore[safe-super]


class HubPeriodicExportingMetricReader(_HubReader, PeriodicExportingMetricReader):
    def __init__(self, exporter: MetricExporter, hub: HistogramHub, **kwargs: Any) -> None:
        self._firsttoken_hub = hub  # before the SDK starts the export thread
        super().__init__(exporter, **kwargs)
        hub.attach(self)


class HubInMemoryMetricReader(_HubReader, InMemoryMetricReader):
    """For tests: an in-memory reader on a provider whose GenAI histograms firsttoken aggregates."""

    def __init__(self, hub: HistogramHub, **kwargs: Any) -> None:
        self._firsttoken_hub = hub
        super().__init__(**kwargs)
        hub.attach(self)


def hub_meter_provider(readers: Sequence[MetricReader], hub: HistogramHub, resource: Resource | None = None) -> Any:
    """An SDK MeterProvider over `readers` (each built with `hub`) whose GenAI histograms the hub aggregates."""
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider

    resource = resource or Resource.create()
    provider = SDKMeterProvider(resource=resource, metric_readers=list(readers), shutdown_on_exit=False)
    bind_hub(provider, hub, resource)
    return provider
