"""The collector's own metrics land in its ClickHouse, and the collector alert rules read them correctly."""

from __future__ import annotations

import http.client
import random
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from firsttoken_collector.app import Collector
from firsttoken_collector.config import load_config
from firsttoken_collector.otlp.decode import decode_protobuf
from firsttoken_collector.query_api import open_reader
from firsttoken_collector.selfmetrics import SelfMetrics
from firsttoken_collector.selfreport import SERVICE_NAME, metrics_request
from firsttoken_collector.synthetic import trace_request
from tests.dashboards.grafana_sql import TimeRange, alert_firing, expand

ALERTS = Path(__file__).resolve().parents[2] / "dashboards/provisioning/alerting/firsttoken-alerts.yaml"


def _collector(tmp_path: Path, seconds: int) -> Collector:
    env = {"FIRSTTOKEN_SELF_METRICS_SECONDS": str(seconds)}
    collector = Collector(load_config(env=env, data_dir=str(tmp_path / "data"), http_port=0, grpc_port=-1))
    collector.start()
    return collector


def test_self_metrics_are_written_every_interval_and_agree_with_metrics_endpoint(tmp_path: Path) -> None:
    collector = _collector(tmp_path, 1)
    try:
        request, _ = trace_request(random.Random(5), 40)
        connection = http.client.HTTPConnection("127.0.0.1", collector.http_port, timeout=30)
        connection.request(
            "POST", "/v1/traces", request.SerializeToString(), {"Content-Type": "application/x-protobuf"}
        )
        assert connection.getresponse().status == 200
        connection.close()
        time.sleep(2.5)  # at least two samples after the export
        assert collector.pipeline is not None
        assert collector.self_reporter is not None
        collector.self_reporter.stop()  # a sample a second keeps the pipeline from ever being idle
        assert collector.pipeline.wait_idle(30)
        reader = open_reader(collector.config)
        sums = reader.query(
            "SELECT MetricName, Attributes['signal'], max(Value), count(),"
            " any(ResourceAttributes['service.instance.id']) FROM otel_metrics_sum"
            " WHERE ServiceName = {s:String} GROUP BY ALL ORDER BY ALL",
            {"s": SERVICE_NAME},
        ).rows
        received = [r for r in sums if r[0] == "firsttoken_collector_received_items_total" and r[1] == "traces"]
        assert received, sums
        assert (
            received[0][2]
            == 40
            == collector.metrics.value("firsttoken_collector_received_items_total", signal="traces")
        )
        assert received[0][3] >= 2, "one point per sample"
        assert received[0][4] == collector.pipeline.instance_id
        gauges = {
            r[0]
            for r in reader.query(
                "SELECT DISTINCT MetricName FROM otel_metrics_gauge WHERE ServiceName = {s:String}",
                {"s": SERVICE_NAME},
            ).rows
        }
        assert {"firsttoken_collector_spill_bytes", "firsttoken_collector_queue_depth_rows"} <= gauges
        # self-reporting does not count itself as received data
        assert collector.metrics.value("firsttoken_collector_received_items_total", signal="metrics") == 0
    finally:
        collector.stop()


def test_zero_turns_self_metrics_off(tmp_path: Path) -> None:
    collector = _collector(tmp_path, 0)
    try:
        assert collector.self_reporter is None
    finally:
        collector.stop()


def _rule(uid: str) -> dict[str, Any]:
    alerts = yaml.safe_load(ALERTS.read_text())
    (rule,) = [r for g in alerts["groups"] for r in g["rules"] if r["uid"] == uid]
    return rule


def _evaluate(collector: Collector, uid: str, now_ns: int) -> list[tuple[Any, ...]]:
    rule = _rule(uid)
    (query,) = [d for d in rule["data"] if d["datasourceUid"] != "__expr__"]
    window_ms = query["relativeTimeRange"]["from"] * 1000
    now_ms = now_ns // 1_000_000
    sql = expand(
        query["model"]["rawSql"],
        variables={},
        all_values={},
        time_range=TimeRange(now_ms - window_ms, now_ms + 1000),
        interval_s=60,
    )
    rows = open_reader(collector.config).query(sql, {}).rows
    return [tuple(row) for row in alert_firing(rule, rows)]


def _sample(collector: Collector, metrics: SelfMetrics, instance: str, at_ns: int, start_ns: int) -> None:
    payload = metrics_request(metrics, instance_id=instance, time_ns=at_ns, start_ns=start_ns).SerializeToString()
    assert collector.pipeline is not None
    collector.pipeline.accept(decode_protobuf("metrics", payload), payload)


@pytest.mark.slow
def test_collector_alert_rules_fire_on_growing_spill_and_new_errors_only(tmp_path: Path) -> None:
    collector = _collector(tmp_path, 0)
    try:
        now = time.time_ns()
        minute = 60 * 1_000_000_000
        growing, steady, restarted = SelfMetrics(), SelfMetrics(), SelfMetrics()
        # replica-a: 2 insert errors long before the window; then its spill grows every 2 minutes over the last 10
        # and 3 more errors come 4 minutes ago. replica-b: a spill that is large but flat.
        growing.inc("firsttoken_collector_clickhouse_errors_total", 2)
        _sample(collector, growing, "replica-a", now - 20 * minute, now - minute * 60)
        for i in range(6):
            at = now - (10 - 2 * i) * minute + 1
            growing.set("firsttoken_collector_spill_bytes", 1_000_000 * (i + 1))
            if i == 3:
                growing.inc("firsttoken_collector_clickhouse_errors_total", 3)
            steady.set("firsttoken_collector_spill_bytes", 5_000_000)
            _sample(collector, growing, "replica-a", at, now - minute * 60)
            _sample(collector, steady, "replica-b", at, now - minute * 60)
        # replica-c restarted (its counters began again at 0): a drop, not errors
        before = SelfMetrics()
        before.inc("firsttoken_collector_clickhouse_errors_total", 7)
        _sample(collector, before, "replica-c", now - 8 * minute, now - minute * 60)
        _sample(collector, restarted, "replica-c", now - 2 * minute, now - 3 * minute)
        assert collector.pipeline is not None
        assert collector.pipeline.wait_idle(30)

        spill = _evaluate(collector, "firsttoken-collector-spill-growing", now)
        assert [row[0] for row in spill] == ["replica-a"]
        errors = _evaluate(collector, "firsttoken-collector-insert-errors", now)
        assert [(row[0], row[1], row[2]) for row in errors] == [
            ("replica-a", "firsttoken_collector_clickhouse_errors_total", 3.0)
        ]
    finally:
        collector.stop()
