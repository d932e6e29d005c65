"""The Grafana dashboards and alert rules: well-formed JSON/YAML for the ClickHouse plugin, and every panel, variable
and alert query — expanded the way Grafana and the plugin expand it — runs on embedded ClickHouse loaded by a real
workload (SDK clients -> fake provider -> OTLP -> collector), with the headline figures equal to values computed
independently from the spans the workload recorded."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dashboards import dashboard_workload
from tests.dashboards.grafana_sql import TimeRange, alert_firing, expand, load_variables

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
BOARD_FILES = sorted((DASHBOARDS / "json").glob("*.json"))
ALERTS = DASHBOARDS / "provisioning" / "alerting" / "firsttoken-alerts.yaml"
DATASOURCE = DASHBOARDS / "provisioning" / "datasources" / "clickhouse.yaml"
PROVIDER = DASHBOARDS / "provisioning" / "dashboards" / "firsttoken.yaml"
DS_TYPE = "grafana-clickhouse-datasource"
SERVICE = "voice-agent"
BUDGET_MS = 400.0


def _boards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in BOARD_FILES}


def _targets(board: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    (panel,) = [p for p in board["panels"] if p["title"] == title]
    return panel


# ---------------------------------------------------------------- static checks (fast)


def test_five_dashboards_with_stable_uids_and_current_schema() -> None:
    boards = _boards()
    assert set(boards) == {"overview", "model-comparison", "cost", "tools-tasks", "drilldown"}
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids)
    assert all(uid.startswith("firsttoken-") for uid in uids)
    for board in boards.values():
        assert board["schemaVersion"] >= 39
        assert "id" not in board


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: p.stem)
def test_panels_and_targets_use_the_datasource_variable(path: Path) -> None:
    board = json.loads(path.read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    titles = [p["title"] for p in board["panels"]]
    assert len(titles) == len(set(titles)), "panel titles must be unique (they name the figures in docs and tests)"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == DS_TYPE
    assert {"datasource", "service"} <= set(variables)
    queried = [p for p in board["panels"] if p["type"] != "row"]
    assert queried
    for panel in queried:
        assert panel["datasource"] == {"type": DS_TYPE, "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": DS_TYPE, "uid": "${datasource}"}
            assert target["editorType"] == "sql"
            assert target["format"] in (0, 1, 3)
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs))
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}"
            assert "$__timeFilter(" in variable["query"]["rawSql"], f"variable {variable['name']} is not time-bounded"


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: p.stem)
def test_every_query_is_time_bounded_and_filtered(path: Path) -> None:
    board = json.loads(path.read_text())
    variables = {v["name"] for v in board["templating"]["list"]}
    for panel, target in _targets(board):
        sql = target["rawSql"]
        assert "$__timeFilter(" in sql, f"{panel['title']}: not time-bounded"
        assert "SpanAttributes[" not in sql or target["format"] == 3, f"{panel['title']}: reads the attribute map"
        if "service" in variables and "FROM otel_traces" not in sql:
            assert "$__conditionalAll(service_name IN (${service:singlequote}), $service)" in sql, panel["title"]
        for key in ("provider", "model", "tenant"):
            if key in variables and "FROM llm_calls WHERE" in sql:
                assert f"$__conditionalAll({key} IN (${{{key}:singlequote}}), ${key})" in sql, (panel["title"], key)


def test_ttft_budget_is_a_variable_defaulting_to_400_and_drawn_as_a_line() -> None:
    overview = _boards()["overview"]
    (budget,) = [v for v in overview["templating"]["list"] if v["name"] == "ttft_budget_ms"]
    assert budget["query"] == "400"
    panel = _panel(overview, "TTFT p50 / p95 / p99 by model")
    assert any("toFloat64(${ttft_budget_ms}) AS budget_ms" in t["rawSql"] for t in panel["targets"])
    assert any(o["matcher"]["options"] == "budget_ms" for o in panel["fieldConfig"]["overrides"])


def test_trace_ids_link_to_the_trace_view() -> None:
    boards = _boards()
    linked = 0
    for board in boards.values():
        for panel in board["panels"]:
            for override in panel.get("fieldConfig", {}).get("overrides", []):
                if override["matcher"]["options"] == "trace_id":
                    (links,) = [p["value"] for p in override["properties"] if p["id"] == "links"]
                    urls = [link["url"] for link in links]
                    assert any("/d/firsttoken-drilldown/" in u and "var-trace_id=${__value.raw}" in u for u in urls)
                    assert any(u.startswith("/explore?") and "${__value.raw}" in u for u in urls)
                    linked += 1
    assert linked >= 6
    traces = [p for p in boards["drilldown"]["panels"] if p["type"] == "traces"]
    assert [t["format"] for p in traces for t in p["targets"]] == [3]


def test_provisioning_files() -> None:
    datasource = yaml.safe_load(DATASOURCE.read_text())
    assert datasource["apiVersion"] == 1
    (ds,) = datasource["datasources"]
    assert ds["type"] == DS_TYPE
    assert ds["uid"] == "firsttoken-clickhouse"
    assert ds["jsonData"]["host"] == "clickhouse"
    assert ds["jsonData"]["port"] == 8123
    assert ds["jsonData"]["protocol"] == "http"
    assert ds["jsonData"]["defaultDatabase"] == "firsttoken"
    assert ds["jsonData"]["username"] == "${CLICKHOUSE_USER}"
    assert ds["secureJsonData"] == {"password": "${CLICKHOUSE_PASSWORD}"}
    traces = ds["jsonData"]["traces"]
    assert traces["defaultTable"] == "otel_traces"
    assert traces["traceIdColumn"] == "TraceId"
    assert traces["durationUnit"] == "nanoseconds"
    provider = yaml.safe_load(PROVIDER.read_text())
    assert provider["apiVersion"] == 1
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"]["path"] == "/var/lib/grafana/dashboards"


def _alert_rules() -> list[dict[str, Any]]:
    alerts = yaml.safe_load(ALERTS.read_text())
    assert alerts["apiVersion"] == 1
    return [rule for group in alerts["groups"] for rule in group["rules"]]


def test_alert_rules_cover_the_pages() -> None:
    rules = _alert_rules()
    uids = [r["uid"] for r in rules]
    assert len(uids) == len(set(uids))
    assert set(uids) == {
        "firsttoken-ttft-p95-over-budget",
        "firsttoken-error-rate",
        "firsttoken-throttle-spike",
        "firsttoken-cost-burn",
        "firsttoken-tool-success-drop",
        "firsttoken-adherence-drop",
        "firsttoken-ingestion-stalled",
        "firsttoken-collector-spill-growing",
        "firsttoken-collector-insert-errors",
    }
    for rule in rules:
        queries = [d for d in rule["data"] if d["datasourceUid"] != "__expr__"]
        assert [q["datasourceUid"] for q in queries] == ["firsttoken-clickhouse"]
        assert "$__timeFilter(" in queries[0]["model"]["rawSql"]
        (condition,) = [d for d in rule["data"] if d["refId"] == rule["condition"]]
        assert condition["model"]["type"] == "threshold"
        assert rule["for"] in ("2m", "5m", "10m")
    by_uid = {r["uid"]: r for r in rules}
    ttft = by_uid["firsttoken-ttft-p95-over-budget"]
    assert ttft["for"] == "5m"
    assert ttft["data"][1]["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [BUDGET_MS]}
    errors = by_uid["firsttoken-error-rate"]
    assert errors["data"][1]["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [0.05]}


# ---------------------------------------------------------------- the workload (slow, once per module)


@dataclass
class Loaded:
    spans: list[dict[str, Any]]
    reader: Any
    time_range: TimeRange


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    pytest.importorskip("chdb")
    from firsttoken.testing import FakeProviderServer
    from firsttoken_collector.app import Collector
    from firsttoken_collector.config import load_config
    from firsttoken_collector.query_api import open_reader

    tmp = tmp_path_factory.mktemp("dashboards")
    fake = FakeProviderServer()
    fake.start()
    config = load_config(env={}, data_dir=str(tmp / "data"), http_port=0, grpc_port=0)
    object.__setattr__(config, "batch_delay_seconds", 0.05)
    collector = Collector(config)
    collector.start()
    try:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.http_port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": SERVICE,
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
            "FIRSTTOKEN_STRICT": "1",
        }
        env.pop("OTEL_TRACES_EXPORTER", None)
        out = tmp / "spans.json"
        done = subprocess.run(
            [sys.executable, "-m", dashboard_workload.__name__, fake.url, str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        spans = json.loads(out.read_text())
        assert collector.pipeline is not None
        assert collector.pipeline.wait_idle(30)
        start_ms = min(s["start_ns"] for s in spans) // 1_000_000
        end_ms = max(s["end_ns"] for s in spans) // 1_000_000
        # a dashboard range around the workload, whole minutes on both sides (the rollup's grain)
        time_range = TimeRange((start_ms // 60_000 - 1) * 60_000, (end_ms // 60_000 + 2) * 60_000)
        yield Loaded(spans, open_reader(collector.config), time_range)
    finally:
        collector.stop(timeout=10)
        fake.stop()


def _run(loaded: Loaded, sql: str, variables: dict[str, Any], all_values: dict[str, list[str]], interval_s: int = 60):
    expanded = expand(
        sql, variables=variables, all_values=all_values, time_range=loaded.time_range, interval_s=interval_s
    )
    return loaded.reader.query(expanded, {})


def _resolve_query_variables(loaded: Loaded, board: dict[str, Any], variables: dict[str, Any]) -> dict[str, list[str]]:
    """Run each query variable in order (later ones may depend on earlier ones), as Grafana does on load."""
    all_values: dict[str, list[str]] = {}
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        result = _run(loaded, variable["query"]["rawSql"], variables, all_values)
        all_values[variable["name"]] = [str(row[0]) for row in result.rows]
    return all_values


def _llm(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in spans if s["scope"] == "firsttoken" and s["kind"] == "CLIENT"]


def _choices(board: dict[str, Any], spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {v["name"] for v in board["templating"]["list"]}
    chosen: dict[str, Any] = {}
    if "model_a" in names:
        chosen.update(model_a="claude-haiku-4-5", model_b="gpt-5-mini")
    if "trace_id" in names:
        (task,) = [
            s
            for s in spans
            if s["name"].startswith("invoke_workflow") and s["attributes"]["firsttoken.task.name"] == "plan"
        ]
        chosen["trace_id"] = task["trace_id"]
    return chosen


@pytest.mark.slow
@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("selection", ["all", "filtered"])
def test_every_panel_query_runs_on_the_workload(loaded: Loaded, path: Path, selection: str) -> None:
    board = json.loads(path.read_text())
    chosen = _choices(board, loaded.spans)
    if selection == "filtered":
        names = {v["name"] for v in board["templating"]["list"]}
        chosen.update(
            {
                k: v
                for k, v in {
                    "service": [SERVICE],
                    "provider": ["anthropic", "openai"],
                    "model": ["claude-haiku-4-5"],
                    "tenant": ["acme"],
                }.items()
                if k in names
            }
        )
    variables = load_variables(board, chosen)
    all_values = _resolve_query_variables(loaded, board, variables)
    assert all_values.get("service") == [SERVICE]
    if "model" in all_values:
        assert "claude-haiku-4-5" in all_values["model"]
    empty = []
    for panel, target in _targets(board):
        result = _run(loaded, target["rawSql"], variables, all_values, interval_s=60 if panel.get("interval") else 15)
        if target["format"] == 0:
            assert result.columns[0] == "time", panel["title"]
        if not result.rows:
            empty.append(panel["title"])
    # on this workload only the budget-breach drill-down can be empty when filtered to one model and tenant
    allowed = {
        "Streamed calls over the TTFT budget",
        "Invalid tool arguments and structured-output failures",
        "Recent failed tasks",
        "Most expensive tasks",
        "Recent tool failures",
        "Tool success rate",
        "Per tool",
        "Tasks by name",
        "Task completion rate",
        "Cost per task by task name",
        "Unpriced calls by model",
    }
    assert not [t for t in empty if selection == "all" or t not in allowed], empty


@pytest.mark.slow
@pytest.mark.parametrize("floor", ["as shipped", "lowered"])
def test_alert_rules_evaluate_on_the_workload(loaded: Loaded, floor: str) -> None:
    """As shipped, the minimum-volume floors keep a ~40-call workload from paging; with the floors lowered to one
    call, the rules fire exactly where the workload crosses the thresholds (slow turns, failures, throttling)."""
    firing = {}
    for rule in _alert_rules():
        (query,) = [d for d in rule["data"] if d["datasourceUid"] != "__expr__"]
        span = query["relativeTimeRange"]["from"] * 1000
        now = int(time.time() * 1000)
        raw = query["model"]["rawSql"]
        if floor == "lowered":
            raw = raw.replace(">= 20", ">= 1")
        sql = expand(raw, variables={}, all_values={}, time_range=TimeRange(now - span, now), interval_s=60)
        result = loaded.reader.query(sql, {})
        numeric = [c for c, t in zip(result.columns, result.types, strict=True) if "String" not in t]
        assert len(numeric) == 1, (rule["uid"], result.columns)  # Grafana alerting needs exactly one number per row
        assert result.columns[-1] == numeric[0]
        firing[rule["uid"]] = sorted(str(row[0]) if len(row) > 1 else "" for row in alert_firing(rule, result.rows))
    if floor == "as shipped":
        assert not any(firing.values()), firing
    else:
        assert firing["firsttoken-ttft-p95-over-budget"], firing  # the 420/440 ms turns
        assert "openai / gpt-5-mini" in firing["firsttoken-error-rate"], firing
        assert firing["firsttoken-throttle-spike"], firing
        assert "gpt-5-mini" in firing["firsttoken-adherence-drop"], firing
        assert firing["firsttoken-tool-success-drop"] == ["lookup", "search"], firing  # 1 of 2, 3 of 4 succeed


# ---------------------------------------------------------------- headline figures vs the spans


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default; ClickHouse's quantileExactInclusive)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _panel_row(loaded: Loaded, board_name: str, title: str, ref: str = "A", **chosen: Any) -> list[dict[str, Any]]:
    board = _boards()[board_name]
    variables = load_variables(board, chosen)
    all_values = _resolve_query_variables(loaded, board, variables)
    (target,) = [t for t in _panel(board, title)["targets"] if t["refId"] == ref]
    return _run(loaded, target["rawSql"], variables, all_values).dicts()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.slow
def test_ttft_p95_per_model_equals_the_spans(loaded: Loaded) -> None:
    rows = _panel_row(loaded, "model-comparison", "TTFT p95", model_a="claude-haiku-4-5", model_b="gpt-5-mini")
    assert {r["model"] for r in rows} == {"claude-haiku-4-5", "gpt-5-mini"}
    for row in rows:
        ttfts = [
            s["attributes"]["gen_ai.response.time_to_first_chunk"] * 1000
            for s in _llm(loaded.spans)
            if s["attributes"]["gen_ai.request.model"] == row["model"]
            and "gen_ai.response.time_to_first_chunk" in s["attributes"]
        ]
        assert len(ttfts) >= 8
        assert _close(row["value"], _quantile(ttfts, 0.95)), (row, sorted(ttfts))


@pytest.mark.slow
def test_rollup_ttft_p95_lies_between_the_neighbouring_samples(loaded: Loaded) -> None:
    """The overview reads the rollup's t-digest: with fewer samples than centroids each sample is its own centroid,
    so the estimate interpolates between the order statistics next to rank 0.95 * n (the tolerance)."""
    (row,) = _panel_row(loaded, "overview", "TTFT p95 (streamed)")
    ttfts = sorted(
        s["attributes"]["gen_ai.response.time_to_first_chunk"] * 1000
        for s in _llm(loaded.spans)
        if "gen_ai.response.time_to_first_chunk" in s["attributes"]
    )
    rank = 0.95 * len(ttfts)
    low, high = ttfts[max(math.floor(rank) - 2, 0)], ttfts[min(math.ceil(rank) + 1, len(ttfts) - 1)]
    assert low - 1e-3 <= row["ttft_p95_ms"] <= high + 1e-3, (row, ttfts)
    assert row["ttft_p95_ms"] > BUDGET_MS  # the workload's slow turns push p95 over the voice budget


@pytest.mark.slow
def test_share_of_streamed_calls_over_budget_equals_the_spans(loaded: Loaded) -> None:
    (row,) = _panel_row(loaded, "overview", "Share over TTFT budget")
    ttfts = [
        s["attributes"]["gen_ai.response.time_to_first_chunk"] * 1000
        for s in _llm(loaded.spans)
        if s["attributes"].get("gen_ai.request.stream") and "gen_ai.response.time_to_first_chunk" in s["attributes"]
    ]
    assert _close(row["over_budget"], sum(t > BUDGET_MS for t in ttfts) / len(ttfts))
    assert row["over_budget"] > 0


@pytest.mark.slow
def test_error_and_throttle_rates_equal_the_spans(loaded: Loaded) -> None:
    calls = _llm(loaded.spans)
    throttled = [
        s
        for s in calls
        if s["attributes"].get("firsttoken.throttled")
        or s["attributes"].get("firsttoken.error.category") in ("rate_limit", "overloaded")
    ]
    (row,) = _panel_row(loaded, "overview", "Throttle rate")
    assert _close(row["throttle_rate"], len(throttled) / len(calls))
    assert len(throttled) >= 4  # 429s and 529s, one retried successfully
    (row,) = _panel_row(loaded, "overview", "Error rate")
    assert _close(row["error_rate"], sum(s["status"] == "ERROR" for s in calls) / len(calls))
    categories = {
        r["category"]: r["calls"] for r in _panel_row(loaded, "overview", "Failures by provider / model / category")
    }
    assert {"rate_limit", "overloaded", "timeout"} <= set(categories)


@pytest.mark.slow
@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_rollup_panels_filtered_to_a_tenant_equal_that_tenants_spans(loaded: Loaded, tenant: str) -> None:
    """The rollup has no tenant key: with a tenant selected, its panels aggregate that tenant's calls instead."""
    calls = [s for s in _llm(loaded.spans) if s["attributes"].get("firsttoken.tenant") == tenant]
    assert calls
    assert len(calls) < len(_llm(loaded.spans))
    (row,) = _panel_row(loaded, "overview", "Error rate", tenant=[tenant])
    assert _close(row["error_rate"], sum(s["status"] == "ERROR" for s in calls) / len(calls))
    (row,) = _panel_row(loaded, "overview", "Cache hit rate", tenant=[tenant])
    with_info = [s for s in calls if "firsttoken.cache.hit" in s["attributes"]]
    assert _close(row["by_requests"], sum(s["attributes"]["firsttoken.cache.hit"] for s in with_info) / len(with_info))
    (row,) = _panel_row(loaded, "cost", "Priced cost", tenant=[tenant])
    priced = [s["attributes"]["firsttoken.cost.usd"] for s in calls if s["attributes"].get("firsttoken.cost.priced")]
    assert _close(row["priced_cost_usd"], sum(priced))
    (row,) = _panel_row(loaded, "overview", "Error rate")  # All: the rollup, every tenant and none
    assert _close(row["error_rate"], sum(s["status"] == "ERROR" for s in _llm(loaded.spans)) / len(_llm(loaded.spans)))


@pytest.mark.slow
def test_cache_hit_rate_by_requests_and_tokens_equals_the_spans(loaded: Loaded) -> None:
    (row,) = _panel_row(loaded, "overview", "Cache hit rate")
    calls = _llm(loaded.spans)
    with_info = [s for s in calls if "firsttoken.cache.hit" in s["attributes"]]
    assert _close(row["by_requests"], sum(s["attributes"]["firsttoken.cache.hit"] for s in with_info) / len(with_info))
    chat = [s for s in calls if s["attributes"]["gen_ai.operation.name"] != "embeddings"]
    read = sum(s["attributes"].get("gen_ai.usage.cache_read.input_tokens", 0) for s in chat)
    total = sum(s["attributes"].get("gen_ai.usage.input_tokens", 0) for s in chat)
    assert _close(row["by_tokens"], read / total)
    assert 0 < row["by_tokens"] < 1


@pytest.mark.slow
def test_tool_success_and_argument_validity_equal_the_spans(loaded: Loaded) -> None:
    tools = [s for s in loaded.spans if s["name"].startswith("execute_tool")]
    (row,) = _panel_row(loaded, "overview", "Tool success", "A")
    assert _close(row["execution_success"], sum(s["attributes"]["firsttoken.tool.success"] for s in tools) / len(tools))
    (row,) = _panel_row(loaded, "overview", "Tool success", "B")
    calls = [s["attributes"] for s in _llm(loaded.spans) if s["attributes"].get("firsttoken.tool_calls.names")]
    invalid = sum(a.get("firsttoken.tool_calls.invalid", 0) for a in calls)
    total = sum(a.get("firsttoken.tool_calls.count", len(a["firsttoken.tool_calls.names"])) for a in calls)
    assert _close(row["valid_arguments"], 1 - invalid / total)
    per_tool = {r["tool_name"]: r for r in _panel_row(loaded, "tools-tasks", "Tools")}
    search = [s for s in tools if s["attributes"]["gen_ai.tool.name"] == "search"]
    assert per_tool["search"]["outcomes"] == len(search)
    assert _close(
        per_tool["search"]["success_rate"],
        sum(s["attributes"]["firsttoken.tool.success"] for s in search) / len(search),
    )


@pytest.mark.slow
def test_structured_output_adherence_equals_the_spans(loaded: Loaded) -> None:
    (row,) = _panel_row(loaded, "overview", "Structured-output adherence")
    requested = [
        s["attributes"] for s in _llm(loaded.spans) if s["attributes"].get("firsttoken.structured_output.requested")
    ]
    assert _close(
        row["adherence"], sum(bool(a.get("firsttoken.structured_output.valid")) for a in requested) / len(requested)
    )
    assert 0 < row["adherence"] < 1


@pytest.mark.slow
def test_cost_per_task_equals_the_spans_and_unpriced_is_not_zero(loaded: Loaded) -> None:
    tasks = [s["attributes"] for s in loaded.spans if s["name"].startswith("invoke_workflow")]
    priced = [a["firsttoken.task.cost.usd"] for a in tasks if a.get("firsttoken.task.cost.priced")]
    (row,) = _panel_row(loaded, "cost", "Cost per task p50 / p95")
    assert _close(row["p50"], _quantile(priced, 0.5))
    assert _close(row["p95"], _quantile(priced, 0.95))
    by_name = {r["task_name"]: r for r in _panel_row(loaded, "cost", "Cost per task by task name")}
    triage = [a["firsttoken.task.cost.usd"] for a in tasks if a["firsttoken.task.name"] == "triage"]
    assert _close(by_name["triage"]["p95_usd"], _quantile(triage, 0.95))
    # the planner task includes a call to a model with no price: its cost is unknown, not a smaller number
    assert by_name["plan"]["p50_usd"] is None or math.isnan(by_name["plan"]["p50_usd"])
    assert by_name["plan"]["tasks_with_unpriced_or_unknown_cost"] == 1
    (row,) = _panel_row(loaded, "cost", "Unpriced calls")
    assert row["unpriced_calls"] == sum(not s["attributes"].get("firsttoken.cost.priced") for s in _llm(loaded.spans))
    assert row["unpriced_calls"] >= 1


@pytest.mark.slow
def test_most_expensive_traces_equal_the_spans(loaded: Loaded) -> None:
    """Ranked on the hashed trace key, shown per real trace id: the same traces, sums and counts as the spans. A
    trace none of whose calls is priced has an unknown cost (NULL, ranked last), not $0."""
    traces: dict[str, dict[str, Any]] = {}
    for span in _llm(loaded.spans):
        trace = traces.setdefault(span["trace_id"], {"priced": None, "unpriced": 0, "calls": 0})
        trace["calls"] += 1
        if span["attributes"].get("firsttoken.cost.priced"):
            trace["priced"] = (trace["priced"] or 0.0) + span["attributes"]["firsttoken.cost.usd"]
        else:
            trace["unpriced"] += 1
    rows = _panel_row(loaded, "cost", "Most expensive traces")
    assert len(rows) == min(50, len(traces))
    known = sorted((t["priced"] for t in traces.values() if t["priced"] is not None), reverse=True)
    shown = [row["priced_cost_usd"] for row in rows]
    assert all(_close(a, b) for a, b in zip(shown, known, strict=False)), "ranked by priced cost, highest first"
    assert shown[len(known) :] == [None] * (len(shown) - len(known)), "unknown costs come last, never as 0"
    for row in rows:
        trace = traces[row["trace_id"]]
        if trace["priced"] is None:
            assert row["priced_cost_usd"] is None
        else:
            assert _close(row["priced_cost_usd"], trace["priced"])
        assert (row["llm_calls"], row["unpriced_calls"]) == (trace["calls"], trace["unpriced"])


@pytest.mark.slow
def test_task_completion_and_fan_out_equal_the_spans(loaded: Loaded) -> None:
    tasks = [s["attributes"] for s in loaded.spans if s["name"].startswith("invoke_workflow")]
    (row,) = _panel_row(loaded, "overview", "Task completion")
    assert _close(row["completion"], sum(a["firsttoken.task.status"] == "completed" for a in tasks) / len(tasks))
    by_name = {r["task_name"]: r for r in _panel_row(loaded, "tools-tasks", "Tasks by name")}
    assert by_name["plan"]["llm_calls_max"] == 4
    assert by_name["triage"]["tasks"] == 4
    assert _close(by_name["triage"]["completion_rate"], 0.75)


@pytest.mark.slow
def test_cache_savings_follow_the_documented_formula(loaded: Loaded) -> None:
    (row,) = _panel_row(loaded, "cost", "Cache savings")
    expected = 0.0
    for span in _llm(loaded.spans):
        a = span["attributes"]
        read = a.get("gen_ai.usage.cache_read.input_tokens", 0)
        uncached = a.get("gen_ai.usage.input_tokens", 0) - read - a.get("gen_ai.usage.cache_creation.input_tokens", 0)
        if read > 0 and uncached > 0 and a.get("firsttoken.cost.priced"):
            expected += read * a["firsttoken.cost.input_usd"] / uncached - a["firsttoken.cost.cache_read_usd"]
    assert expected > 0
    assert math.isclose(row["savings_usd"], expected, rel_tol=1e-9)


@pytest.mark.slow
def test_the_trace_panel_returns_the_whole_trace(loaded: Loaded) -> None:
    board = _boards()["drilldown"]
    chosen = _choices(board, loaded.spans)
    rows = _panel_row(loaded, "drilldown", "Trace ${trace_id}", **chosen)
    expected = {s["span_id"] for s in loaded.spans if s["trace_id"] == chosen["trace_id"]}
    assert {r["spanID"] for r in rows} == expected
    assert {"traceID", "parentSpanID", "serviceName", "operationName", "startTime", "duration", "tags"} <= set(rows[0])


def test_committed_json_is_what_the_builder_writes() -> None:
    """The JSON Grafana loads and the script that keeps it consistent cannot drift apart."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "dashboards" / "build_dashboards.py"
    spec = importlib.util.spec_from_file_location("build_dashboards", path)
    assert spec is not None
    assert spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    rendered = builder.rendered()
    committed = {p.name: p.read_text() for p in (path.parent / "json").glob("*.json")}
    assert rendered == committed, "run `python dashboards/build_dashboards.py` and commit the JSON"
