# ruff: noqa: E501, S608 - panel SQL (no user input: Grafana interpolates variables) reads best one clause a line
"""Writes dashboards/json/*.json. The JSON files are the artefact Grafana loads (and what the tests check);
this script is how they are kept consistent: edit it, run `python dashboards/build_dashboards.py`, commit both."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "json"
DS_TYPE = "grafana-clickhouse-datasource"
DS = {"type": DS_TYPE, "uid": "${datasource}"}
SCHEMA_VERSION = 39

# ---- filters: `$__conditionalAll` turns a filter into 1=1 when the variable is All or empty ----
SVC = " AND $__conditionalAll(service_name IN (${service:singlequote}), $service)"
PROV = " AND $__conditionalAll(provider IN (${provider:singlequote}), $provider)"
MODEL = " AND $__conditionalAll(model IN (${model:singlequote}), $model)"
TENANT = " AND $__conditionalAll(tenant IN (${tenant:singlequote}), $tenant)"
ROLLUP_MIGRATION = (
    Path(__file__).resolve().parents[1] / "collector/firsttoken_collector/schema/migrations/0008_rollups.sql"
)


def rollup_on_the_fly() -> str:
    """The rollup view's own SELECT (read from its migration, so the two cannot drift), over llm_calls.

    The rollup has no tenant key (a tenant per row would multiply it by the tenants active each minute). With a
    tenant selected, rollup panels read these rows instead: the same columns, aggregated from that tenant's calls.
    """
    sql = ROLLUP_MIGRATION.read_text()
    body = sql[sql.index("AS SELECT") + len("AS ") : sql.index("FROM {{table llm_calls}} AS l")]
    body = "\n".join(line.strip() and "  " + line.strip() for line in body.strip().splitlines()).lstrip()
    group = sql[sql.index("GROUP BY", sql.index("FROM {{table llm_calls}} AS l")) :].rstrip().rstrip(";")
    return (
        f"{body.strip()}\n  FROM llm_calls AS l WHERE NOT ($__conditionalAll(1=0, $tenant))"
        f" AND $__timeFilter(l.timestamp){SVC}{PROV}{MODEL}{TENANT}\n  {group}"
    )


# Rollup panels: llm_calls_1m for all tenants; with a tenant selected, the rollup's rows computed from that tenant's
# calls ($__conditionalAll turns one branch into 1=1 and the other into a constant false ClickHouse does not read).
R = (
    "FROM (\n SELECT * FROM llm_calls_1m WHERE $__conditionalAll(1=0, $tenant) AND $__timeFilter(minute)"
    + SVC + PROV + MODEL
    + "\n UNION ALL\n "
    + rollup_on_the_fly()
    + "\n) WHERE $__timeFilter(minute)"
)  # fmt: skip
C = "FROM llm_calls WHERE $__timeFilter(timestamp)" + SVC + PROV + MODEL + TENANT
CT = "FROM tasks WHERE $__timeFilter(timestamp)" + SVC + TENANT
TOOLS = "FROM tool_calls WHERE $__timeFilter(timestamp)" + SVC
Q = "quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)"
PER_MIN = "(greatest($__interval_s, 60) / 60)"  # the rollup's grain is one minute

DRILLDOWN_UID = "firsttoken-drilldown"


def trace_sql(trace_id: str) -> str:
    """The plugin's trace view over otel_traces (format 3): one trace, bounded by the trace-id/time table."""
    return (
        f"WITH '{trace_id}' AS trace_id,\n"
        " (SELECT min(Start) FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_start,\n"
        " (SELECT max(End) + 1 FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_end\n"
        "SELECT TraceId AS traceID, SpanId AS spanID, ParentSpanId AS parentSpanID, ServiceName AS serviceName,\n"
        " SpanName AS operationName, toUnixTimestamp64Nano(Timestamp) / 1000000 AS startTime,\n"
        " Duration / 1000000 AS duration,\n"
        " arrayMap(key -> map('key', key, 'value', SpanAttributes[key]), mapKeys(SpanAttributes)) AS tags,\n"
        " arrayMap(key -> map('key', key, 'value', ResourceAttributes[key]), mapKeys(ResourceAttributes))"
        " AS serviceTags,\n"
        " SpanKind AS kind, StatusCode AS statusCode, StatusMessage AS statusMessage\n"
        "FROM otel_traces\n"
        "WHERE TraceId = trace_id AND Timestamp >= trace_start AND Timestamp <= trace_end"
        " AND $__timeFilter(Timestamp)\n"
        "ORDER BY startTime"
    )


def _explore_url() -> str:
    panes = {
        "t": {
            "datasource": "${datasource}",
            "queries": [
                {
                    "refId": "A",
                    "datasource": DS,
                    "editorType": "sql",
                    "format": 3,
                    "queryType": "traces",
                    "rawSql": trace_sql("${__value.raw}"),
                }
            ],
            "range": {"from": "${__from}", "to": "${__to}"},
        }
    }
    encoded = urllib.parse.quote(json.dumps(panes, separators=(",", ":")), safe="")
    for token in ("${__value.raw}", "${datasource}", "${__from}", "${__to}"):
        encoded = encoded.replace(urllib.parse.quote(token, safe=""), token)
    return f"/explore?schemaVersion=1&orgId=1&panes={encoded}"


TRACE_LINKS = [
    {
        "title": "Trace in the drill-down dashboard",
        "url": f"/d/{DRILLDOWN_UID}/firsttoken-drill-down?var-datasource=${{datasource}}"
        "&var-trace_id=${__value.raw}&from=${__from}&to=${__to}",
    },
    {"title": "Trace in Explore (trace view)", "url": _explore_url(), "targetBlank": True},
]


# ---- variables ----
def ds_var() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "ClickHouse",
        "type": "datasource",
        "query": DS_TYPE,
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
    }


def query_var(name: str, sql: str, *, multi: bool = True, label: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "label": label or name,
        "type": "query",
        "datasource": DS,
        "query": {"editorType": "sql", "rawSql": sql, "format": 1},
        "definition": sql,
        "refresh": 2,
        "multi": multi,
        "includeAll": multi,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {},
        "sort": 1,
        "hide": 0,
        "regex": "",
        "options": [],
    }


def text_var(name: str, default: str, label: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "textbox",
        "query": default,
        "current": {"text": default, "value": default},
        "options": [{"selected": True, "text": default, "value": default}],
        "hide": 0,
    }


SERVICE_VAR = query_var(
    "service", "SELECT DISTINCT service_name FROM llm_calls_1m WHERE $__timeFilter(minute) ORDER BY 1"
)
PROVIDER_VAR = query_var(
    "provider", "SELECT DISTINCT provider FROM llm_calls_1m WHERE $__timeFilter(minute)" + SVC + " ORDER BY 1"
)
MODEL_VAR = query_var(
    "model", "SELECT DISTINCT model FROM llm_calls_1m WHERE $__timeFilter(minute)" + SVC + PROV + " ORDER BY 1"
)
TENANT_VAR = query_var(
    "tenant",
    "SELECT DISTINCT tenant FROM llm_calls WHERE $__timeFilter(timestamp) AND tenant != ''"
    + SVC
    + " ORDER BY 1 LIMIT 1000",
)
BUDGET_VAR = text_var("ttft_budget_ms", "400", "TTFT budget (ms)")


# ---- panels ----
class Board:
    def __init__(self, uid: str, title: str, description: str, variables: list[dict[str, Any]]) -> None:
        self.uid, self.title, self.description, self.variables = uid, title, description, variables
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.row_h = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def _newline(self) -> None:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0

    def add(
        self,
        kind: str,
        title: str,
        description: str,
        targets: list[tuple[str, int]],
        *,
        w: int = 8,
        h: int = 8,
        unit: str = "short",
        interval: str | None = None,
        overrides: list[dict[str, Any]] | None = None,
        links: list[dict[str, Any]] | None = None,
        options: dict[str, Any] | None = None,
        decimals: int | None = None,
        thresholds: list[tuple[float | None, str]] | None = None,
    ) -> None:
        if self.x + w > 24:
            self._newline()
        defaults: dict[str, Any] = {"unit": unit, "noValue": "no data"}
        if decimals is not None:
            defaults["decimals"] = decimals
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": c, "value": v} for v, c in (thresholds or [(None, "green")])],
        }
        if links:
            defaults["links"] = links
        panel: dict[str, Any] = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
            "options": options or {},
            "targets": [
                {"datasource": DS, "editorType": "sql", "rawSql": sql, "refId": chr(65 + i), "format": fmt}
                for i, (sql, fmt) in enumerate(targets)
            ],
        }
        if interval:
            panel["interval"] = interval
        if kind == "stat":
            panel["options"] = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
                "colorMode": "value",
                "graphMode": "none",
                "textMode": "auto",
                **(options or {}),
            }
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["firsttoken", "llm"],
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "time": {"from": "now-6h", "to": "now"},
            "timepicker": {},
            "timezone": "browser",
            "refresh": "1m",
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "",
            "annotations": {"list": []},
            "links": [
                {
                    "type": "dashboards",
                    "tags": ["firsttoken"],
                    "asDropdown": True,
                    "title": "firsttoken",
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "templating": {"list": self.variables},
            "panels": self.panels,
        }


TABLE = 1
SERIES = 0
PCT = "percentunit"
BUDGET_OVERRIDE = {
    "matcher": {"id": "byName", "options": "budget_ms"},
    "properties": [
        {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
        {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
        {"id": "displayName", "value": "TTFT budget"},
    ],
}
BUDGET_SERIES = (
    f"SELECT $__timeInterval(minute) AS time, toFloat64(${{ttft_budget_ms}}) AS budget_ms\n{R}\nGROUP BY time ORDER BY time",
    SERIES,
)
TRACE_OVERRIDE = [
    {"matcher": {"id": "byName", "options": "trace_id"}, "properties": [{"id": "links", "value": TRACE_LINKS}]}
]


def overview() -> Board:
    b = Board(
        "firsttoken-overview",
        "firsttoken / On-call overview",
        "Is the LLM tier healthy? Latency against the voice budget, errors and throttling, cache, tools, "
        "structured output, tasks and cost. Busy panels read the llm_calls_1m rollup; with a tenant selected, the same "
        "figures from that tenant's calls (tool outcome spans carry no tenant: tool execution panels are all tenants).",
        [ds_var(), SERVICE_VAR, PROVIDER_VAR, MODEL_VAR, TENANT_VAR, BUDGET_VAR],
    )
    b.row("Right now")
    b.add(
        "stat",
        "Requests / min",
        "LLM calls per minute over the range.",
        [
            (
                f"SELECT sum(calls) / greatest(dateDiff('second', $__fromTime, $__toTime) / 60, 1) AS requests_per_min\n{R}",
                TABLE,
            )
        ],
        w=4,
        h=4,
        decimals=1,
    )
    b.add(
        "stat",
        "Error rate",
        "Failed calls / calls.",
        [(f"SELECT sum(errors) / nullIf(sum(calls), 0) AS error_rate\n{R}", TABLE)],
        w=4,
        h=4,
        unit=PCT,
        thresholds=[(None, "green"), (0.01, "orange"), (0.05, "red")],
    )
    b.add(
        "stat",
        "Throttle rate",
        "Calls throttled by the provider (429 rate_limit, 529 overloaded, even when a retry succeeded) / calls.",
        [(f"SELECT sum(throttled) / nullIf(sum(calls), 0) AS throttle_rate\n{R}", TABLE)],
        w=4,
        h=4,
        unit=PCT,
        thresholds=[(None, "green"), (0.02, "orange"), (0.1, "red")],
    )
    b.add(
        "stat",
        "TTFT p95 (streamed)",
        "95th percentile time to first token over streamed calls (t-digest from the rollup; calls without TTFT excluded).",
        [(f"SELECT {Q}(ttft_ms_quantiles)[3] AS ttft_p95_ms\n{R} AND streams > 0", TABLE)],
        w=4,
        h=4,
        unit="ms",
        decimals=0,
        thresholds=[(None, "green"), (400, "red")],
    )
    b.add(
        "stat",
        "Share over TTFT budget",
        "Share of streamed calls with a TTFT whose TTFT exceeds ${ttft_budget_ms} ms.",
        [
            (
                f"SELECT countIf(ttft_ms > ${{ttft_budget_ms}}) / nullIf(count(), 0) AS over_budget\n{C} AND stream = true AND ttft_ms IS NOT NULL",
                TABLE,
            )
        ],
        w=4,
        h=4,
        unit=PCT,
        thresholds=[(None, "green"), (0.05, "red")],
    )
    b.add(
        "stat",
        "Cost burn ($/h, last 15 min)",
        "Priced cost of the last 15 minutes of the range, per hour. Unpriced calls are not in it (see Unpriced calls).",
        [(f"SELECT sum(cost_usd) * 4 AS usd_per_hour\n{R} AND minute >= $__toTime - INTERVAL 15 MINUTE", TABLE)],
        w=4,
        h=4,
        unit="currencyUSD",
        decimals=2,
    )

    b.row("Traffic, errors and throttling")
    b.add(
        "timeseries",
        "Requests / min by service",
        "LLM calls per minute.",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, service_name, sum(calls) / {PER_MIN} AS requests_per_min\n{R}\nGROUP BY time, service_name ORDER BY time",
                SERIES,
            )
        ],
        interval="1m",
        unit="reqpm",
    )
    b.add(
        "timeseries",
        "Error rate by provider / model",
        "Failed calls / calls.",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, concat(provider, ' / ', model) AS series, sum(errors) / sum(calls) AS error_rate\n{R}\nGROUP BY time, series ORDER BY time",
                SERIES,
            )
        ],
        interval="1m",
        unit=PCT,
    )
    b.add(
        "timeseries",
        "Throttle rate by provider / model",
        "Throttled (429/529) calls / calls.",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, concat(provider, ' / ', model) AS series, sum(throttled) / sum(calls) AS throttle_rate\n{R}\nGROUP BY time, series ORDER BY time",
                SERIES,
            )
        ],
        interval="1m",
        unit=PCT,
    )
    b.add(
        "timeseries",
        "Failures by category",
        "Failed or throttled calls per minute by error category: rate_limit (429), overloaded (529), timeout, connection, 5xx, 4xx, other; 'throttled, retried ok' when a retry succeeded.",
        [
            (
                f"SELECT $__timeInterval(timestamp) AS time, if(error_category = '', 'throttled, retried ok', error_category) AS category, count() / {PER_MIN} AS per_min\n{C} AND (is_error OR throttled)\nGROUP BY time, category ORDER BY time",
                SERIES,
            )
        ],
        w=12,
        interval="1m",
        unit="reqpm",
    )
    b.add(
        "table",
        "Failures by provider / model / category",
        "Counts over the range; rate = share of that model's calls.",
        [
            (
                f"SELECT provider, model, if(error_category = '', 'throttled, retried ok', error_category) AS category, count() AS calls\n{C} AND (is_error OR throttled)\nGROUP BY provider, model, category ORDER BY calls DESC LIMIT 50",
                TABLE,
            )
        ],
        w=12,
    )

    b.row("Latency")
    b.add(
        "timeseries",
        "TTFT p50 / p95 / p99 by model",
        "Time to first token of streamed calls against the budget (dashed).",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, model, {Q}(ttft_ms_quantiles)[1] AS p50, {Q}(ttft_ms_quantiles)[3] AS p95, {Q}(ttft_ms_quantiles)[4] AS p99\n{R} AND streams > 0\nGROUP BY time, model ORDER BY time",
                SERIES,
            ),
            BUDGET_SERIES,
        ],
        w=12,
        interval="1m",
        unit="ms",
        overrides=[BUDGET_OVERRIDE],
    )
    b.add(
        "timeseries",
        "Streamed calls over TTFT budget",
        "Share of streamed calls (with a TTFT) over ${ttft_budget_ms} ms, by model.",
        [
            (
                f"SELECT $__timeInterval(timestamp) AS time, model, countIf(ttft_ms > ${{ttft_budget_ms}}) / count() AS over_budget\n{C} AND stream = true AND ttft_ms IS NOT NULL\nGROUP BY time, model ORDER BY time",
                SERIES,
            )
        ],
        w=12,
        interval="1m",
        unit=PCT,
    )
    b.add(
        "timeseries",
        "Duration p50 / p95 / p99 by model",
        "Whole-call duration (stream read to the end).",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, model, {Q}(duration_ms_quantiles)[1] AS p50, {Q}(duration_ms_quantiles)[3] AS p95, {Q}(duration_ms_quantiles)[4] AS p99\n{R}\nGROUP BY time, model ORDER BY time",
                SERIES,
            )
        ],
        w=24,
        interval="1m",
        unit="ms",
    )

    b.row("Cache, cost, quality")
    b.add(
        "timeseries",
        "Cache hit rate (requests)",
        "Calls that read the prompt cache / calls with cache information.",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, model, sum(cache_hits) / nullIf(sum(calls_with_cache_info), 0) AS hit_rate\n{R}\nGROUP BY time, model ORDER BY time",
                SERIES,
            )
        ],
        interval="1m",
        unit=PCT,
    )
    b.add(
        "timeseries",
        "Cache hit rate (tokens)",
        "Cache-read input tokens / all input tokens (chat calls; embeddings excluded).",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, model, sum(cache_read_tokens) / nullIf(sum(input_tokens), 0) AS token_hit_rate\n{R} AND operation != 'embeddings'\nGROUP BY time, model ORDER BY time",
                SERIES,
            )
        ],
        interval="1m",
        unit=PCT,
    )
    b.add(
        "timeseries",
        "Cost per hour by model",
        "Priced cost as $/h; the unpriced-call count is on the Cost dashboard.",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, model, sum(cost_usd) * 3600 / greatest($__interval_s, 60) AS usd_per_hour\n{R}\nGROUP BY time, model ORDER BY time",
                SERIES,
            )
        ],
        interval="1m",
        unit="currencyUSD",
    )
    b.add(
        "stat",
        "Cache hit rate",
        "By requests and by tokens over the range.",
        [
            (
                f"SELECT sum(cache_hits) / nullIf(sum(calls_with_cache_info), 0) AS by_requests,\n sumIf(cache_read_tokens, operation != 'embeddings') / nullIf(sumIf(input_tokens, operation != 'embeddings'), 0) AS by_tokens\n{R}",
                TABLE,
            )
        ],
        w=6,
        h=5,
        unit=PCT,
    )
    b.add(
        "stat",
        "Tool success",
        "Tool executions that succeeded / tool outcomes (tool_calls), and model tool calls with valid arguments (llm_calls_1m).",
        [
            (f"SELECT countIf(success) / nullIf(count(), 0) AS execution_success\n{TOOLS}", TABLE),
            (f"SELECT 1 - sum(tool_calls_invalid) / nullIf(sum(tool_calls), 0) AS valid_arguments\n{R}", TABLE),
        ],
        w=6,
        h=5,
        unit=PCT,
        thresholds=[(None, "red"), (0.9, "orange"), (0.98, "green")],
    )
    b.add(
        "stat",
        "Structured-output adherence",
        "Responses that parse and validate / responses that asked for a schema.",
        [(f"SELECT sum(structured_valid) / nullIf(sum(structured_requested), 0) AS adherence\n{R}", TABLE)],
        w=6,
        h=5,
        unit=PCT,
        thresholds=[(None, "red"), (0.95, "green")],
    )
    b.add(
        "stat",
        "Task completion",
        "Tasks completed / tasks ended.",
        [
            (
                f"SELECT countIf(completed) / nullIf(count(), 0) AS completion\nFROM tasks WHERE $__timeFilter(timestamp){SVC}",
                TABLE,
            )
        ],
        w=6,
        h=5,
        unit=PCT,
        thresholds=[(None, "red"), (0.9, "green")],
    )
    return b


def per_model(metric_sql: str, where_extra: str = "") -> str:
    return (
        f"SELECT model, {metric_sql} AS value\nFROM llm_calls WHERE $__timeFilter(timestamp)"
        f" AND model IN (${{model_a:singlequote}}, ${{model_b:singlequote}}){SVC}{TENANT}{where_extra}\n"
        "GROUP BY model ORDER BY model"
    )


def comparison() -> Board:
    model_sql = "SELECT DISTINCT model FROM llm_calls_1m WHERE $__timeFilter(minute)" + SVC + " ORDER BY 1"
    b = Board(
        "firsttoken-model-comparison",
        "firsttoken / Model comparison",
        "Two models side by side on the same workload (for example during a migration running both). Exact "
        "quantiles over llm_calls.",
        [
            ds_var(),
            SERVICE_VAR,
            TENANT_VAR,
            query_var("model_a", model_sql, multi=False, label="Model A"),
            query_var("model_b", model_sql, multi=False, label="Model B"),
        ],
    )
    stat = {"orientation": "horizontal", "textMode": "value_and_name"}
    b.row("${model_a} vs ${model_b}")
    b.add(
        "stat",
        "TTFT p95",
        "Streamed calls with a TTFT.",
        [(per_model("quantileExactInclusive(0.95)(ttft_ms)", " AND stream = true AND ttft_ms IS NOT NULL"), TABLE)],
        w=6,
        h=6,
        unit="ms",
        decimals=0,
        options=stat,
    )
    b.add(
        "stat",
        "Duration p95",
        "Whole-call duration.",
        [(per_model("quantileExactInclusive(0.95)(duration_ms)"), TABLE)],
        w=6,
        h=6,
        unit="ms",
        decimals=0,
        options=stat,
    )
    b.add(
        "stat",
        "Cost per call",
        "Mean cost of priced calls (unpriced calls are counted in the table below, not priced at $0).",
        [(per_model("avgIf(cost_usd, priced)"), TABLE)],
        w=6,
        h=6,
        unit="currencyUSD",
        decimals=6,
        options=stat,
    )
    b.add(
        "stat",
        "Cost per task",
        "This model's priced cost inside tasks / tasks it took part in (tasks where all its calls are priced).",
        [
            (
                "SELECT model, avg(task_cost) AS value FROM (\n SELECT model, task_id, sum(cost_usd) AS task_cost\n"
                " FROM llm_calls WHERE $__timeFilter(timestamp) AND model IN (${model_a:singlequote}, ${model_b:singlequote})"
                f" AND task_id != ''{SVC}{TENANT}\n GROUP BY model, task_id HAVING min(priced)\n) GROUP BY model ORDER BY model",
                TABLE,
            )
        ],
        w=6,
        h=6,
        unit="currencyUSD",
        decimals=6,
        options=stat,
    )
    b.add(
        "stat",
        "Cache hit rate (requests)",
        "Calls that read the cache / calls with cache information.",
        [(per_model("countIf(cache_hit = true) / nullIf(countIf(cache_hit IS NOT NULL), 0)"), TABLE)],
        w=6,
        h=6,
        unit=PCT,
        options=stat,
    )
    b.add(
        "stat",
        "Error rate",
        "Failed calls / calls.",
        [(per_model("countIf(is_error) / count()"), TABLE)],
        w=6,
        h=6,
        unit=PCT,
        options=stat,
    )
    b.add(
        "stat",
        "Structured-output adherence",
        "Valid / requested.",
        [(per_model("countIf(structured_valid = true) / nullIf(countIf(structured_requested), 0)"), TABLE)],
        w=6,
        h=6,
        unit=PCT,
        options=stat,
    )
    b.add(
        "stat",
        "Tool-call argument validity",
        "Model tool calls whose arguments were valid JSON and matched the tool's schema.",
        [(per_model("1 - sum(tool_calls_invalid) / nullIf(sum(tool_calls_count), 0)"), TABLE)],
        w=6,
        h=6,
        unit=PCT,
        options=stat,
    )
    b.add(
        "table",
        "Side by side",
        "Every figure for both models; unpriced calls counted, not priced.",
        [
            (
                "SELECT model, count() AS calls, countIf(NOT priced) AS unpriced_calls,\n"
                " quantileExactInclusiveIf(0.5)(ttft_ms, stream = true AND ttft_ms IS NOT NULL) AS ttft_p50_ms,\n"
                " quantileExactInclusiveIf(0.95)(ttft_ms, stream = true AND ttft_ms IS NOT NULL) AS ttft_p95_ms,\n"
                " quantileExactInclusive(0.95)(duration_ms) AS duration_p95_ms, sumIf(cost_usd, priced) AS priced_cost_usd,\n"
                " countIf(is_error) / count() AS error_rate, countIf(throttled) / count() AS throttle_rate\n"
                "FROM llm_calls WHERE $__timeFilter(timestamp) AND model IN (${model_a:singlequote}, ${model_b:singlequote})"
                f"{SVC}{TENANT}\nGROUP BY model ORDER BY model",
                TABLE,
            )
        ],
        w=24,
        h=6,
    )
    b.add(
        "timeseries",
        "TTFT p95 over time",
        "Both models, budget dashed (400 ms).",
        [
            (
                "SELECT $__timeInterval(minute) AS time, model, " + Q + "(ttft_ms_quantiles)[3] AS ttft_p95_ms\n"
                "FROM llm_calls_1m WHERE $__timeFilter(minute) AND model IN (${model_a:singlequote}, ${model_b:singlequote})"
                f" AND streams > 0{SVC}\nGROUP BY time, model ORDER BY time",
                SERIES,
            )
        ],
        w=24,
        interval="1m",
        unit="ms",
    )
    return b


def cost() -> Board:
    b = Board(
        "firsttoken-cost",
        "firsttoken / Cost",
        "Where the money goes: by model, service, tenant and task; cache savings; calls with no known price.",
        [ds_var(), SERVICE_VAR, PROVIDER_VAR, MODEL_VAR, TENANT_VAR],
    )
    b.row("Totals")
    b.add(
        "stat",
        "Priced cost",
        "Sum over calls with a known price.",
        [(f"SELECT sum(cost_usd) AS priced_cost_usd\n{R}", TABLE)],
        w=6,
        h=4,
        unit="currencyUSD",
        decimals=2,
    )
    b.add(
        "stat",
        "Unpriced calls",
        "Calls whose model has no known price: their cost is unknown (never $0).",
        [(f"SELECT sum(unpriced_calls) AS unpriced_calls\n{R}", TABLE)],
        w=6,
        h=4,
        thresholds=[(None, "green"), (1, "orange")],
    )
    b.add(
        "stat",
        "Cache savings",
        "Saved by cache reads: cache_read_tokens * uncached input price - cache_read_cost_usd (formula in docs/dashboards.md).",
        [
            (
                "SELECT sum(cache_read_tokens * input_cost_usd / (input_tokens - cache_read_tokens - ifNull(cache_write_tokens, 0)) - cache_read_cost_usd) AS savings_usd\n"
                f"{C} AND cache_read_tokens > 0 AND priced AND input_cost_usd IS NOT NULL AND cache_read_cost_usd IS NOT NULL\n"
                " AND input_tokens > cache_read_tokens + ifNull(cache_write_tokens, 0)",
                TABLE,
            )
        ],
        w=6,
        h=4,
        unit="currencyUSD",
        decimals=4,
    )
    b.add(
        "stat",
        "Cost per task p50 / p95",
        "Over tasks whose calls are all priced.",
        [
            (
                f"SELECT quantileExactInclusive(0.5)(cost_usd) AS p50, quantileExactInclusive(0.95)(cost_usd) AS p95\n{CT} AND cost_priced = true",
                TABLE,
            )
        ],
        w=6,
        h=4,
        unit="currencyUSD",
        decimals=4,
    )
    b.row("Breakdown")
    b.add(
        "timeseries",
        "Cost by model ($/h)",
        "Priced cost per hour.",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, model, sum(cost_usd) * 3600 / greatest($__interval_s, 60) AS usd_per_hour\n{R}\nGROUP BY time, model ORDER BY time",
                SERIES,
            )
        ],
        w=12,
        interval="1m",
        unit="currencyUSD",
        options={"legend": {"displayMode": "table", "calcs": ["sum"]}},
    )
    b.add(
        "timeseries",
        "Cost by service ($/h)",
        "Priced cost per hour.",
        [
            (
                f"SELECT $__timeInterval(minute) AS time, service_name, sum(cost_usd) * 3600 / greatest($__interval_s, 60) AS usd_per_hour\n{R}\nGROUP BY time, service_name ORDER BY time",
                SERIES,
            )
        ],
        w=12,
        interval="1m",
        unit="currencyUSD",
    )
    b.add(
        "table",
        "Cost by model",
        "Priced cost, calls, unpriced calls, tokens.",
        [
            (
                f"SELECT provider, model, sum(calls) AS calls, sum(cost_usd) AS priced_cost_usd, sum(unpriced_calls) AS unpriced_calls,\n"
                f" sum(input_tokens) AS input_tokens, sum(cache_read_tokens) AS cache_read_tokens, sum(output_tokens) AS output_tokens\n{R}\n"
                "GROUP BY provider, model ORDER BY priced_cost_usd DESC",
                TABLE,
            )
        ],
        w=12,
    )
    b.add(
        "table",
        "Cost by tenant",
        "Priced cost and unpriced calls per tenant ('' = no tenant).",
        [
            (
                f"SELECT tenant, count() AS calls, sumIf(cost_usd, priced) AS priced_cost_usd, countIf(NOT priced) AS unpriced_calls\n{C}\n"
                "GROUP BY tenant ORDER BY priced_cost_usd DESC LIMIT 100",
                TABLE,
            )
        ],
        w=12,
    )
    b.add(
        "table",
        "Cost per task by task name",
        "p50/p95 over fully priced tasks; tasks with unpriced calls are counted apart.",
        [
            (
                f"SELECT task_name, count() AS tasks, countIf(cost_priced = true) AS priced_tasks,\n"
                " quantileExactInclusiveIf(0.5)(cost_usd, cost_priced = true) AS p50_usd,\n"
                " quantileExactInclusiveIf(0.95)(cost_usd, cost_priced = true) AS p95_usd,\n"
                f" countIf(NOT ifNull(cost_priced, false)) AS tasks_with_unpriced_or_unknown_cost\n{CT}\n"
                "GROUP BY task_name ORDER BY p95_usd DESC",
                TABLE,
            )
        ],
        w=24,
        h=7,
    )
    b.row("Most expensive")
    b.add(
        "table",
        "Most expensive tasks",
        "Click a trace id for the trace.",
        [
            (
                f"SELECT timestamp, task_name, task_id, trace_id, cost_usd, cost_priced, unpriced_calls, llm_calls, status\n{CT} AND cost_usd IS NOT NULL\n"
                "ORDER BY cost_usd DESC LIMIT 50",
                TABLE,
            )
        ],
        w=12,
        h=9,
        overrides=TRACE_OVERRIDE,
    )
    b.add(
        "table",
        "Most expensive traces",
        "Priced cost of the trace's LLM calls; unpriced calls counted.",
        [
            (
                # Rank on the UInt64 trace_key with a non-Nullable sum (millions of traces in 7 d), then read the top 50
                # traces in full. On a cluster, `local` runs the ranking on each shard: llm_calls is sharded by trace,
                # so the top 50 overall are among the shards' top 50s (a plain IN of a Distributed table is refused).
                f"SELECT trace_id, min(timestamp) AS started, any(service_name) AS service, count() AS llm_calls,\n"
                f" sumIf(cost_usd, priced) AS priced_cost_usd, countIf(NOT priced) AS unpriced_calls\n{C}\n"
                f" AND trace_key IN (SELECT trace_key {C}\n"
                "  GROUP BY trace_key ORDER BY sum(if(priced, assumeNotNull(cost_usd), 0)) DESC LIMIT 50)\n"
                "GROUP BY trace_id ORDER BY priced_cost_usd DESC LIMIT 50\n"
                "SETTINGS distributed_product_mode = 'local'",
                TABLE,
            )
        ],
        w=12,
        h=9,
        overrides=TRACE_OVERRIDE,
    )
    b.add(
        "table",
        "Unpriced calls by model",
        "Models with no known price (add them to genai-prices or accept an unknown cost).",
        [
            (
                f"SELECT provider, model, sum(unpriced_calls) AS unpriced_calls\n{R}\nGROUP BY provider, model HAVING unpriced_calls > 0 ORDER BY unpriced_calls DESC",
                TABLE,
            )
        ],
        w=24,
        h=6,
    )
    return b


def tools_tasks() -> Board:
    b = Board(
        "firsttoken-tools-tasks",
        "firsttoken / Tools and tasks",
        "Per tool: volume, execution success, invalid arguments, latency. Per task: completion and LLM fan-out.",
        [ds_var(), SERVICE_VAR, PROVIDER_VAR, MODEL_VAR, TENANT_VAR],
    )
    b.row("Tool outcomes")
    b.add(
        "table",
        "Tools",
        "Outcomes (tool_calls): success rate and latency of explicit executions (inferred outcomes have no duration).",
        [
            (
                "SELECT tool_name, count() AS outcomes, countIf(success) / count() AS success_rate,\n"
                " quantileExactInclusiveIf(0.5)(duration_ms, source != 'inferred') AS p50_ms,\n"
                f" quantileExactInclusiveIf(0.95)(duration_ms, source != 'inferred') AS p95_ms\n{TOOLS}\n"
                "GROUP BY tool_name ORDER BY outcomes DESC",
                TABLE,
            )
        ],
        w=12,
        h=8,
    )
    b.add(
        "table",
        "Model tool calls and invalid arguments",
        "From llm_calls: tools the model called and the share with invalid arguments "
        "(a response's invalid count is shared evenly among the tools it called; exact when a response calls one tool).",
        [
            (
                "SELECT tool_name, count() AS calls, sum(invalid_share) / count() AS invalid_argument_rate FROM (\n"
                " SELECT arrayJoin(tool_call_names) AS tool_name, ifNull(tool_calls_invalid, 0) / length(tool_call_names) AS invalid_share\n"
                f" {C} AND notEmpty(tool_call_names)\n) GROUP BY tool_name ORDER BY calls DESC",
                TABLE,
            )
        ],
        w=12,
        h=8,
    )
    b.add(
        "timeseries",
        "Tool success rate",
        "Per tool.",
        [
            (
                f"SELECT $__timeInterval(timestamp) AS time, tool_name, countIf(success) / count() AS success_rate\n{TOOLS}\nGROUP BY time, tool_name ORDER BY time",
                SERIES,
            )
        ],
        w=12,
        interval="1m",
        unit=PCT,
    )
    b.add(
        "table",
        "Recent tool failures",
        "Failed tool outcomes.",
        [
            (
                f"SELECT timestamp, tool_name, failure_reason, error_type, source, task_name, trace_id\n{TOOLS} AND NOT success\nORDER BY timestamp DESC LIMIT 50",
                TABLE,
            )
        ],
        w=12,
        overrides=TRACE_OVERRIDE,
    )
    b.row("Tasks")
    b.add(
        "table",
        "Tasks by name",
        "Completion rate, duration and LLM calls per task (fan-out).",
        [
            (
                "SELECT task_name, count() AS tasks, countIf(completed) / count() AS completion_rate,\n"
                " quantileExactInclusive(0.95)(duration_ms) AS p95_duration_ms,\n"
                " quantileExactInclusive(0.5)(llm_calls) AS llm_calls_p50, quantileExactInclusive(0.95)(llm_calls) AS llm_calls_p95,\n"
                f" max(llm_calls) AS llm_calls_max, sum(tool_failures) AS tool_failures\n{CT}\nGROUP BY task_name ORDER BY tasks DESC",
                TABLE,
            )
        ],
        w=24,
        h=8,
    )
    b.add(
        "timeseries",
        "Task completion rate",
        "Per task name.",
        [
            (
                f"SELECT $__timeInterval(timestamp) AS time, task_name, countIf(completed) / count() AS completion_rate\n{CT}\nGROUP BY time, task_name ORDER BY time",
                SERIES,
            )
        ],
        w=12,
        interval="1m",
        unit=PCT,
    )
    b.add(
        "table",
        "Recent failed tasks",
        "Click a trace id for the trace.",
        [
            (
                f"SELECT timestamp, task_name, failure_reason, llm_calls, tool_failures, trace_id\n{CT} AND NOT completed\nORDER BY timestamp DESC LIMIT 50",
                TABLE,
            )
        ],
        w=12,
        overrides=TRACE_OVERRIDE,
    )
    return b


def drilldown() -> Board:
    b = Board(
        DRILLDOWN_UID,
        "firsttoken / Drill-down",
        "From a number to the calls and the trace behind it. Click a trace id; the trace opens below (or in Explore).",
        [ds_var(), SERVICE_VAR, PROVIDER_VAR, MODEL_VAR, TENANT_VAR, BUDGET_VAR, text_var("trace_id", "", "Trace id")],
    )
    cols = (
        "timestamp, service_name, provider, model, duration_ms, ttft_ms, cost_usd, priced, task_name, tenant, trace_id"
    )
    b.add(
        "table",
        "Streamed calls over the TTFT budget",
        "Slowest first.",
        [
            (
                f"SELECT {cols}\n{C} AND stream = true AND ttft_ms > ${{ttft_budget_ms}}\nORDER BY ttft_ms DESC LIMIT 100",
                TABLE,
            )
        ],
        w=12,
        h=9,
        overrides=TRACE_OVERRIDE,
    )
    b.add(
        "table",
        "Failed and throttled calls",
        "Newest first.",
        [
            (
                f"SELECT timestamp, service_name, provider, model, error_category, error_type, http_status_code, throttled, retries, trace_id\n{C} AND (is_error OR throttled)\nORDER BY timestamp DESC LIMIT 100",
                TABLE,
            )
        ],
        w=12,
        h=9,
        overrides=TRACE_OVERRIDE,
    )
    b.add(
        "table",
        "Invalid tool arguments and structured-output failures",
        "Newest first.",
        [
            (
                f"SELECT timestamp, service_name, model, tool_call_names, tool_calls_invalid, structured_requested, structured_valid, structured_error, trace_id\n{C}"
                " AND (tool_calls_invalid > 0 OR (structured_requested AND structured_valid = false))\nORDER BY timestamp DESC LIMIT 100",
                TABLE,
            )
        ],
        w=12,
        h=9,
        overrides=TRACE_OVERRIDE,
    )
    b.add(
        "table",
        "Slowest calls",
        "By duration.",
        [(f"SELECT {cols}\n{C}\nORDER BY duration_ms DESC LIMIT 100", TABLE)],
        w=12,
        h=9,
        overrides=TRACE_OVERRIDE,
    )
    b.add(
        "traces",
        "Trace ${trace_id}",
        "The plugin's trace view over otel_traces.",
        [(trace_sql("${trace_id}"), 3)],
        w=24,
        h=14,
    )
    return b


def rendered() -> dict[str, str]:
    """File name -> the JSON text the builder writes (the tests compare it with the committed files)."""
    boards = [
        ("overview", overview()),
        ("model-comparison", comparison()),
        ("cost", cost()),
        ("tools-tasks", tools_tasks()),
        ("drilldown", drilldown()),
    ]
    return {f"{name}.json": json.dumps(board.json(), indent=2) + "\n" for name, board in boards}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (OUT / name).write_text(text)


if __name__ == "__main__":
    main()
