"""The collector's self-metrics registry and its Prometheus text rendering."""

from __future__ import annotations

import threading

import pytest

from firsttoken_collector.selfmetrics import METRICS, MetricSpec, SelfMetrics

SPECS = (
    MetricSpec("t_requests_total", "counter", "Requests.", ("signal", "code")),
    MetricSpec("t_plain_total", "counter", "No labels."),
    MetricSpec("t_depth", "gauge", "Queue depth."),
    MetricSpec("t_seconds", "histogram", "Durations.", ("transport",), buckets=(0.1, 0.5, 1.0)),
)


def lines(metrics: SelfMetrics) -> list[str]:
    text = metrics.render()
    assert text.endswith("\n")
    return text.splitlines()


def test_help_and_type_lines_and_unlabelled_zeros() -> None:
    rendered = lines(SelfMetrics(SPECS))
    assert rendered[:2] == ["# HELP t_requests_total Requests.", "# TYPE t_requests_total counter"]
    assert "# TYPE t_depth gauge" in rendered
    assert "# TYPE t_seconds histogram" in rendered
    # a metric without labels is exposed as 0 before its first update; labelled ones have no series yet
    assert "t_plain_total 0" in rendered
    assert "t_depth 0" in rendered
    assert not [line for line in rendered if line.startswith(("t_requests_total", "t_seconds"))]


def test_counters_and_gauges() -> None:
    metrics = SelfMetrics(SPECS)
    metrics.inc("t_requests_total", signal="traces", code="200")
    metrics.inc("t_requests_total", 2, signal="traces", code="200")
    metrics.inc("t_requests_total", signal="logs", code="400")
    metrics.set("t_depth", 12.5)
    metrics.inc("t_depth", -2.5)
    rendered = lines(metrics)
    assert 't_requests_total{signal="logs",code="400"} 1' in rendered
    assert 't_requests_total{signal="traces",code="200"} 3' in rendered
    assert "t_depth 10" in rendered
    assert metrics.value("t_requests_total", signal="traces", code="200") == 3
    assert metrics.value("t_requests_total", signal="metrics", code="200") == 0


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("back\\slash", "back\\\\slash"),
        ('a "quote"', 'a \\"quote\\"'),
        ("two\nlines", "two\\nlines"),
        ('all\\"\n', 'all\\\\\\"\\n'),
    ],
)
def test_label_values_are_escaped(raw: str, escaped: str) -> None:
    metrics = SelfMetrics(SPECS)
    metrics.inc("t_requests_total", signal=raw, code="200")
    assert f't_requests_total{{signal="{escaped}",code="200"}} 1' in lines(metrics)


def test_histogram_buckets_are_cumulative_with_inf_sum_and_count() -> None:
    metrics = SelfMetrics(SPECS)
    for value in (0.05, 0.1, 0.3, 0.7, 2.0, 5.0):
        metrics.observe("t_seconds", value, transport="http")
    rendered = [line for line in lines(metrics) if line.startswith("t_seconds")]
    assert rendered == [
        't_seconds_bucket{transport="http",le="0.1"} 2',  # le is inclusive: 0.1 lands in the 0.1 bucket
        't_seconds_bucket{transport="http",le="0.5"} 3',
        't_seconds_bucket{transport="http",le="1"} 4',
        't_seconds_bucket{transport="http",le="+Inf"} 6',
        't_seconds_sum{transport="http"} 8.15',
        't_seconds_count{transport="http"} 6',
    ]
    assert metrics.value("t_seconds", transport="http") == 6


def test_every_declared_metric_renders() -> None:
    metrics = SelfMetrics()
    text = metrics.render()
    for spec in METRICS:
        assert f"# HELP {spec.name} " in text
        assert f"# TYPE {spec.name} {spec.kind}\n" in text


def test_unknown_name_raises() -> None:
    metrics = SelfMetrics(SPECS)
    with pytest.raises(KeyError):
        metrics.inc("t_typo_total")
    with pytest.raises(KeyError):
        metrics.observe("t_typo", 1.0)
    with pytest.raises(KeyError):
        metrics.value("t_typo")


@pytest.mark.parametrize(
    "labels",
    [{}, {"signal": "traces"}, {"signal": "traces", "code": "200", "extra": "x"}, {"signal": "traces", "cod": "200"}],
)
def test_wrong_labels_raise(labels: dict[str, str]) -> None:
    metrics = SelfMetrics(SPECS)
    with pytest.raises(ValueError):
        metrics.inc("t_requests_total", **labels)
    assert metrics.render() == SelfMetrics(SPECS).render()  # nothing was recorded


def test_wrong_kind_and_decreasing_counter_raise() -> None:
    metrics = SelfMetrics(SPECS)
    with pytest.raises(TypeError):
        metrics.observe("t_plain_total", 1.0)
    with pytest.raises(TypeError):
        metrics.set("t_plain_total", 1.0)
    with pytest.raises(TypeError):
        metrics.inc("t_seconds", transport="http")
    with pytest.raises(ValueError):
        metrics.inc("t_plain_total", -1)


def test_concurrent_updates_are_not_lost() -> None:
    metrics = SelfMetrics(SPECS)
    threads_count, per_thread = 8, 2000
    start = threading.Barrier(threads_count + 1)

    def work(index: int) -> None:
        start.wait()
        for _ in range(per_thread):
            metrics.inc("t_requests_total", signal="traces", code=str(index % 2))
            metrics.inc("t_plain_total")
            metrics.observe("t_seconds", 0.2, transport="grpc")

    threads = [threading.Thread(target=work, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    start.wait()
    for _ in range(50):  # rendering while others write must neither fail nor tear a histogram
        for line in lines(metrics):
            assert line.startswith(("#", "t_"))
    for thread in threads:
        thread.join()
    total = threads_count * per_thread
    assert metrics.value("t_plain_total") == total
    assert metrics.value("t_requests_total", signal="traces", code="0") == total / 2
    assert metrics.value("t_seconds", transport="grpc") == total
    assert f't_seconds_bucket{{transport="grpc",le="0.5"}} {total}' in lines(metrics)
