"""The on-call numbers for a recent window, as rich tables: per model, per tool, per task.

Every query is time-bounded on the table's time key and takes its values as ClickHouse parameters. A rate with no
denominator prints as "—", never as 0%: unknown is not zero.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from firsttoken_collector.query_api import Reader

MODELS_SQL = """
SELECT
    provider, model,
    count() AS calls,
    countIf(is_error) / count() AS error_rate,
    countIf(throttled) / count() AS throttle_rate,
    quantileExactIf(0.5)(ttft_ms, ttft_ms IS NOT NULL) AS ttft_p50,
    quantileExactIf(0.95)(ttft_ms, ttft_ms IS NOT NULL) AS ttft_p95,
    if(countIf(ttft_ms IS NOT NULL) = 0, NULL,
       countIf(ttft_ms > {budget_ms:Float64}) / countIf(ttft_ms IS NOT NULL)) AS over_budget,
    if(countIf(cache_hit IS NOT NULL) = 0, NULL, countIf(cache_hit) / countIf(cache_hit IS NOT NULL)) AS cache_hit_rate,
    sumIf(cost_usd, priced) AS cost_usd,
    countIf(NOT priced AND NOT is_error) AS unpriced,
    if(countIf(structured_valid IS NOT NULL) = 0, NULL,
       countIf(structured_valid) / countIf(structured_valid IS NOT NULL)) AS adherence
FROM llm_calls
WHERE timestamp >= now64(9) - toIntervalSecond({since_s:UInt32})
GROUP BY provider, model
ORDER BY calls DESC
"""

TOOLS_SQL = """
SELECT tool_name, count() AS outcomes, countIf(success) / count() AS success_rate,
       quantileExact(0.95)(duration_ms) AS p95_ms, groupUniqArray(source) AS sources
FROM tool_calls
WHERE timestamp >= now64(9) - toIntervalSecond({since_s:UInt32})
GROUP BY tool_name
ORDER BY outcomes DESC
"""

TOOL_ARGS_SQL = """
SELECT sum(length(tool_call_names)) AS calls, sum(ifNull(tool_calls_invalid, 0)) AS invalid
FROM llm_calls
WHERE timestamp >= now64(9) - toIntervalSecond({since_s:UInt32}) AND notEmpty(tool_call_names)
"""

TASKS_SQL = """
SELECT task_name, count() AS tasks, countIf(status = 'completed') / count() AS completion,
       avg(llm_calls) AS llm_calls_per_task,
       quantileExactIf(0.5)(cost_usd, cost_usd IS NOT NULL) AS cost_p50,
       quantileExactIf(0.95)(cost_usd, cost_usd IS NOT NULL) AS cost_p95
FROM tasks
WHERE timestamp >= now64(9) - toIntervalSecond({since_s:UInt32})
GROUP BY task_name
ORDER BY tasks DESC
"""


def console() -> Console:
    """A console for the tables: the terminal's width, or wide enough not to cut columns in a log or a pipe."""
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=160)


def window(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f}%"


def _ms(value: Any) -> str:
    return "—" if value is None or value != value else f"{float(value):.0f} ms"


def _usd(value: Any) -> str:
    return "—" if value is None else f"${float(value):.4f}"


def render(reader: Reader, console: Console, *, since_s: int = 3600, budget_ms: float = 400.0) -> dict[str, Any]:
    """Print the tables; return the raw rows (tests and the demo's closing line use them)."""
    params = {"since_s": since_s, "budget_ms": budget_ms}
    models = reader.query(MODELS_SQL, params).dicts()
    tools = reader.query(TOOLS_SQL, params).dicts()
    tool_args = reader.query(TOOL_ARGS_SQL, params).dicts()
    tasks = reader.query(TASKS_SQL, params).dicts()

    table = Table(title=f"LLM calls, last {window(since_s)} (TTFT budget {budget_ms:.0f} ms)")
    for column in (
        "model",
        "calls",
        "errors",
        "throttled",
        "TTFT p50",
        "TTFT p95",
        "over budget",
        "cache hits",
        "cost",
        "unpriced",
        "adherence",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in models:
        table.add_row(
            f"{row['provider']}/{row['model']}",
            str(row["calls"]),
            _pct(row["error_rate"]),
            _pct(row["throttle_rate"]),
            _ms(row["ttft_p50"]),
            _ms(row["ttft_p95"]),
            _pct(row["over_budget"]),
            _pct(row["cache_hit_rate"]),
            _usd(row["cost_usd"]),
            str(row["unpriced"]),
            _pct(row["adherence"]),
        )
    console.print(table)

    table = Table(title="Tools")
    for column in ("tool", "outcomes", "success", "p95", "recorded by"):
        table.add_column(column, justify="left" if column in ("tool", "recorded by") else "right")
    for row in tools:
        table.add_row(
            row["tool_name"],
            str(row["outcomes"]),
            _pct(row["success_rate"]),
            _ms(row["p95_ms"]),
            ", ".join(sorted(row["sources"])),
        )
    console.print(table)
    if tool_args and tool_args[0]["calls"]:
        calls, invalid = int(tool_args[0]["calls"]), int(tool_args[0]["invalid"])
        console.print(
            f"tool calls made by models: {calls}, with invalid arguments: {invalid} ({_pct(invalid / calls)})"
        )

    table = Table(title="Tasks")
    for column in ("task", "tasks", "completed", "LLM calls per task", "cost p50", "cost p95"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for row in tasks:
        table.add_row(
            row["task_name"],
            str(row["tasks"]),
            _pct(row["completion"]),
            f"{float(row['llm_calls_per_task'] or 0):.1f}",
            _usd(row["cost_p50"]),
            _usd(row["cost_p95"]),
        )
    console.print(table)
    return {"models": models, "tools": tools, "tool_args": tool_args, "tasks": tasks}
