"""GenAI histograms aggregated in firsttoken export what the OpenTelemetry SDK's histograms export for the same samples.

Both paths take the same samples through `GenAIMetrics`: one on a plain SDK MeterProvider (the application's: SDK
histograms), one on a provider built the way firsttoken builds its own (`core/histograms.py`). Every exported field
is compared except the timestamps, which are checked for their relations (one collection time per collection; delta
windows that chain).
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import Histogram as SDKHistogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    MetricReader,
)

from firsttoken import _otel_setup, semconv
from firsttoken.core.histograms import (
    HistogramHub,
    HubInMemoryMetricReader,
    HubPeriodicExportingMetricReader,
    hub_for,
    hub_meter_provider,
)
from firsttoken.core.metrics import GenAIMetrics, Sample

GENAI = {
    semconv.METRIC_OPERATION_DURATION,
    semconv.METRIC_TOKEN_USAGE,
    semconv.METRIC_TIME_TO_FIRST_CHUNK,
    semconv.METRIC_TIME_PER_OUTPUT_CHUNK,
}


def _pair(**reader_kwargs: Any) -> tuple[GenAIMetrics, InMemoryMetricReader, GenAIMetrics, InMemoryMetricReader]:
    sdk_reader = InMemoryMetricReader(**reader_kwargs)
    sdk = GenAIMetrics(MeterProvider(metric_readers=[sdk_reader]), drain_interval_s=3600)
    hub = HistogramHub()
    hub_reader = HubInMemoryMetricReader(hub, **reader_kwargs)
    provider = hub_meter_provider([hub_reader], hub)
    assert hub_for(provider) is hub
    ours = GenAIMetrics(provider, drain_interval_s=3600)
    assert ours._hub is hub
    assert sdk._hub is None
    for recorder in (sdk, ours):
        recorder._thread = threading.current_thread()  # no background drain: the collection drains
    return sdk, sdk_reader, ours, hub_reader


def _samples(rng: random.Random, n: int, keys: int = 6) -> list[Sample]:
    out: list[Sample] = []
    models = [("claude-haiku-4-5", "claude-haiku-4-5-20251001"), ("gpt-5-mini", None), ("claude-sonnet-4-5", None)]
    for _ in range(n):
        request_model, response_model = models[rng.randrange(len(models))]
        provider = "anthropic" if request_model.startswith("claude") else "openai"
        error = rng.choice([None, None, None, "rate_limit", "timeout"])
        server = rng.choice(["api.example.com", None])
        key = ("chat", provider, f"{request_model}-{rng.randrange(keys)}", response_model, server, error)
        stream = rng.random() < 0.4
        out.append(
            (
                *key,
                rng.choice([0.01, 0.02, 5.12, rng.expovariate(2.0), 200.0]),  # boundaries land in their own bucket
                None if error else rng.choice([0, 1, 4, 5, rng.randrange(1, 300_000)]),
                None if error else rng.randrange(0, 5000),
                rng.uniform(0.05, 1.5) if stream and not error else None,
                rng.uniform(0.001, 0.05) if stream and not error else None,
            )
        )
    return out


def _collect(reader: InMemoryMetricReader) -> tuple[dict[str, Any], set[int]]:
    """name -> (unit, description, temporality, {attributes: point fields}); and every point's collection time."""
    data = reader.get_metrics_data()
    out: dict[str, Any] = {}
    times: set[int] = set()
    if data is None:
        return out, times
    encode_metrics(data)  # what the OTLP exporters send: the points must encode
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name not in GENAI:
                    continue
                assert sm.scope.name == "firsttoken"
                points = {}
                for p in metric.data.data_points:
                    times.add(p.time_unix_nano)
                    key = tuple(sorted(p.attributes.items()))
                    assert key not in points
                    assert p.start_time_unix_nano <= p.time_unix_nano
                    points[key] = (
                        p.count,
                        p.sum,
                        tuple(p.bucket_counts),
                        tuple(p.explicit_bounds),
                        p.min,
                        p.max,
                        list(p.exemplars),
                        type(p.sum),
                    )
                out[metric.name] = (metric.unit, metric.description, metric.data.aggregation_temporality, points)
    return out, times


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name][:3] == b[name][:3], name
        assert a[name][3] == b[name][3], name  # exact: sums are added in the same order as the SDK adds them


@pytest.mark.parametrize("temporality", [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA])
def test_aggregated_histograms_export_what_the_sdk_exports(temporality: AggregationTemporality) -> None:
    sdk, sdk_reader, ours, hub_reader = _pair(preferred_temporality={SDKHistogram: temporality})
    rng = random.Random(7)
    previous_time = None
    for round_ in range(4):
        # round 2 adds nothing: cumulative repeats the totals, delta exports nothing
        batch = [] if round_ == 2 else _samples(rng, 400, keys=3 + round_)
        for sample in batch:
            sdk.enqueue(sample)
            ours.enqueue(sample)
        expected, _ = _collect(sdk_reader)
        got, times = _collect(hub_reader)
        _same(expected, got)
        if round_ == 2 and temporality is AggregationTemporality.DELTA:
            assert got == {}
        else:
            assert got
            assert len(times) == 1  # one collection time for every point of a collection
            (now,) = times
            if previous_time is not None:
                assert now > previous_time
            previous_time = now


def test_delta_windows_chain_and_cumulative_starts_stay() -> None:
    for temporality in (AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE):
        _, _, ours, reader = _pair(preferred_temporality={SDKHistogram: temporality})
        sample: Sample = ("chat", "openai", "gpt-5-mini", None, None, None, 0.3, 10, 20, None, None)
        spans = []
        for _ in range(3):
            ours.enqueue(sample)
            data = reader.get_metrics_data()
            assert data is not None
            (point,) = [
                p
                for rm in data.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
                if m.name == semconv.METRIC_OPERATION_DURATION
                for p in m.data.data_points
            ]
            spans.append((point.start_time_unix_nano, point.time_unix_nano, point.count))
        if temporality is AggregationTemporality.DELTA:
            assert [c for _, _, c in spans] == [1, 1, 1]
            assert spans[1][0] == spans[0][1]
            assert spans[2][0] == spans[1][1]
        else:
            assert [c for _, _, c in spans] == [1, 2, 3]
            assert spans[0][0] == spans[1][0] == spans[2][0]


def test_cardinality_limit_overflows_like_the_sdk() -> None:
    sdk, sdk_reader, ours, hub_reader = _pair(cardinality_limits={SDKHistogram: 5})
    # duration and tokens only, so the order in which attribute sets first appear is the same for every histogram
    rng = random.Random(3)
    for i in range(60):
        key = ("chat", "anthropic", f"model-{i % 12}", None, None, None)
        sample: Sample = (*key, rng.expovariate(1.0), rng.randrange(1, 9000), rng.randrange(1, 900), None, None)
        sdk.enqueue(sample)
        ours.enqueue(sample)
    expected, _ = _collect(sdk_reader)
    got, _ = _collect(hub_reader)
    _same(expected, got)
    points = got[semconv.METRIC_OPERATION_DURATION][3]
    assert len(points) == 6
    assert (("otel.metric.overflow", True),) in points


def test_no_readers_keeps_nothing() -> None:
    hub = HistogramHub()
    provider = hub_meter_provider([], hub)
    recorder = GenAIMetrics(provider, drain_interval_s=3600)
    recorder._thread = threading.current_thread()
    for _ in range(10):
        recorder.enqueue(("chat", "openai", "gpt-5-mini", None, None, None, 0.3, 10, 20, None, None))
    assert recorder.drain() == 10
    assert hub._pending == {}


def test_firsttoken_owned_provider_aggregates_and_an_exponential_preference_falls_back() -> None:
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation

    provider = _otel_setup._make_meter_provider({"OTEL_METRICS_EXPORTER": "console"})
    try:
        hub = hub_for(provider)  # type: ignore[arg-type]
        assert hub is not None
        assert hub.has_readers
        assert GenAIMetrics(provider, drain_interval_s=3600)._hub is hub  # type: ignore[arg-type]
    finally:
        provider.shutdown()  # type: ignore[attr-defined]

    exporter = ConsoleMetricExporter(preferred_aggregation={SDKHistogram: ExponentialBucketHistogramAggregation()})
    hub = HistogramHub()
    reader: MetricReader = HubPeriodicExportingMetricReader(exporter, hub, export_interval_millis=3_600_000)
    provider = hub_meter_provider([reader], hub)
    try:
        assert hub_for(provider) is None  # the SDK's histograms then, with the exporter's aggregation
        assert GenAIMetrics(provider, drain_interval_s=3600)._hub is None
    finally:
        provider.shutdown()


def test_the_otlp_exporters_default_preference_is_aggregated_and_custom_boundaries_fall_back() -> None:
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation

    # the OTLP exporters prefer ExplicitBucketHistogramAggregation() for histograms: the advisory boundaries apply
    sdk, sdk_reader, ours, hub_reader = _pair(
        preferred_aggregation={SDKHistogram: ExplicitBucketHistogramAggregation()}
    )
    for sample in _samples(random.Random(11), 200):
        sdk.enqueue(sample)
        ours.enqueue(sample)
    expected, _ = _collect(sdk_reader)
    got, _ = _collect(hub_reader)
    assert got
    _same(expected, got)

    hub = HistogramHub()
    custom = ExplicitBucketHistogramAggregation(boundaries=[1.0, 2.0])
    provider = hub_meter_provider([HubInMemoryMetricReader(hub, preferred_aggregation={SDKHistogram: custom})], hub)
    assert hub_for(provider) is None


def test_every_new_meter_provider_gets_its_collection_hook_even_at_a_reused_address() -> None:
    """Providers created one after another (tests, an application re-creating its telemetry) are often allocated
    where a collected one lived; each must still drain firsttoken's samples into its own collections."""
    import gc

    addresses: set[int] = set()
    for _ in range(40):
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        addresses.add(id(provider))
        recorder = GenAIMetrics(provider, drain_interval_s=3600)
        recorder._thread = threading.current_thread()
        recorder.enqueue(_samples(random.Random(1), 1)[0])
        exported, _ = _collect(reader)
        assert semconv.METRIC_OPERATION_DURATION in exported
        provider.shutdown()
        del reader, provider, recorder
        gc.collect()
    if len(addresses) == 40:  # pragma: no cover - allocator-dependent
        pytest.skip("no provider was allocated at a collected one's address in this run")
