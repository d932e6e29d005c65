"""The review's figures: one SQL query per table (models, tools, tasks), run for a window and the one before it.

Conventions every consumer relies on:
- Windows are half-open, [start, end), on each table's time key.
- Quantiles are exact (`quantileExact`: the value at index floor(level x n) of the sorted values), so a figure can be
  recomputed in Python from the spans and match to the last digit.
- Unknown is not zero. A rate with nothing to divide by is NULL. A quantile over no values is NULL. Cost sums only
  priced calls, and unpriced calls are counted beside it. Failed calls carry no cost and are not counted as unpriced.
- Each figure comes with `<name>_prev` (the previous window) and `<name>_change` (current minus previous; NULL when
  either side is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from firsttoken_collector.query_api import Reader
from firsttoken_collector.review.weeks import Window

_IN_WINDOW = (
    "timestamp >= {start:DateTime64(9)} AND timestamp < {end:DateTime64(9)}"
    " AND ({service:String} = '' OR service_name = {service:String})"
)


def _quantile(level: float, column: str) -> str:
    return f"if(countIf({column} IS NOT NULL) = 0, NULL, quantileExactIf({level})({column}, {column} IS NOT NULL))"


def _rate(numerator: str, denominator: str) -> str:
    return f"if({denominator} = 0, NULL, {numerator} / {denominator})"


# The SQL is assembled from the helpers above and constants only; every value arrives as a query parameter.
MODELS_SQL = f"""
SELECT
    service_name AS service, provider, model,
    count() AS calls,
    countIf(is_error) AS errors,
    countIf(throttled) AS throttles,
    {_rate("countIf(is_error)", "count()")} AS error_rate,
    {_rate("countIf(throttled)", "count()")} AS throttle_rate,
    {_quantile(0.5, "ttft_ms")} AS ttft_p50_ms,
    {_quantile(0.95, "ttft_ms")} AS ttft_p95_ms,
    {_quantile(0.99, "ttft_ms")} AS ttft_p99_ms,
    quantileExact(0.95)(duration_ms) AS duration_p95_ms,
    {_rate("countIf(cache_hit)", "countIf(cache_hit IS NOT NULL)")} AS cache_hit_rate,
    {
    _rate(
        "sumIf(cache_read_tokens, cache_read_tokens IS NOT NULL AND input_tokens IS NOT NULL)",
        "sumIf(input_tokens, cache_read_tokens IS NOT NULL AND input_tokens IS NOT NULL)",
    )
} AS cache_token_rate,
    sum(ifNull(input_tokens, 0)) AS input_tokens_total,
    sum(ifNull(output_tokens, 0)) AS output_tokens_total,
    sumIf(cost_usd, priced) AS cost_total_usd,
    {_rate("sumIf(cost_usd, priced)", "countIf(priced)")} AS cost_per_call_usd,
    countIf(NOT priced AND NOT is_error) AS unpriced_calls,
    sumIf(
        cache_read_tokens * input_cost_usd / (input_tokens - cache_read_tokens - ifNull(cache_write_tokens, 0))
            - cache_read_cost_usd,
        priced AND cache_read_tokens > 0 AND input_cost_usd IS NOT NULL AND cache_read_cost_usd IS NOT NULL
            AND input_tokens - cache_read_tokens - ifNull(cache_write_tokens, 0) > 0
    ) AS cache_savings_usd,
    {_rate("countIf(structured_valid)", "countIf(structured_valid IS NOT NULL)")} AS adherence,
    {_rate("sum(ifNull(tool_calls_invalid, 0))", "sum(length(tool_call_names))")} AS tool_args_invalid_rate
FROM llm_calls
WHERE {_IN_WINDOW}
GROUP BY service, provider, model
ORDER BY service, provider, model
"""

TOOLS_SQL = f"""
SELECT
    tool_name,
    count() AS outcomes,
    countIf(success) AS successes,
    {_rate("countIf(success)", "count()")} AS success_rate,
    {_quantile(0.95, "if(source = 'inferred', NULL, duration_ms)")} AS duration_p95_ms
FROM tool_calls
WHERE {_IN_WINDOW}
GROUP BY tool_name
ORDER BY tool_name
"""

TASKS_SQL = f"""
SELECT
    task_name,
    count() AS tasks,
    countIf(status = 'completed') AS completed_tasks,
    {_rate("countIf(status = 'completed')", "count()")} AS completion_rate,
    avgIf(llm_calls, llm_calls IS NOT NULL) AS llm_calls_per_task,
    {_quantile(0.5, "cost_usd")} AS cost_p50_usd,
    {_quantile(0.95, "cost_usd")} AS cost_p95_usd,
    sumIf(cost_usd, cost_usd IS NOT NULL) AS cost_total_usd
FROM tasks
WHERE {_IN_WINDOW}
GROUP BY task_name
ORDER BY task_name
"""

TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    # name -> (SQL, key columns)
    "models": (MODELS_SQL, ("service", "provider", "model")),
    "tools": (TOOLS_SQL, ("tool_name",)),
    "tasks": (TASKS_SQL, ("task_name",)),
}


@dataclass(frozen=True, slots=True)
class Review:
    window: Window
    service: str
    tables: dict[str, list[dict[str, Any]]]

    @property
    def empty(self) -> bool:
        """Nothing happened in the window itself (the previous window may still have data)."""
        return not any(
            row.get("calls") or row.get("outcomes") or row.get("tasks") for rows in self.tables.values() for row in rows
        )


ADDITIVE = frozenset(  # sums and counts: a window without rows has a known 0, unlike its rates
    {
        "calls",
        "errors",
        "throttles",
        "input_tokens_total",
        "output_tokens_total",
        "unpriced_calls",
        "outcomes",
        "successes",
        "tasks",
        "completed_tasks",
        "cost_total_usd",
    }
)


def _number(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN from an aggregate over nothing: unknown
        return None
    return value


def _with_previous(
    current: list[dict[str, Any]], previous: list[dict[str, Any]], keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    before = {tuple(row[k] for k in keys): row for row in previous}
    now = {tuple(row[k] for k in keys): row for row in current}
    rows = []
    for key in sorted(set(now) | set(before)):  # a model that disappeared this week still shows, with zeros/NULLs
        row = now.get(key)
        prev = before.get(key, {})
        merged: dict[str, Any] = dict(zip(keys, key, strict=True))
        columns = list((row or prev).keys())
        for column in columns:
            if column in keys:
                continue
            missing = 0 if column in ADDITIVE else None  # no rows in a window: zero calls, but an unknown rate
            value = _number(row.get(column)) if row else missing
            old = _number(prev.get(column)) if prev else missing
            merged[column] = value
            merged[f"{column}_prev"] = old
            merged[f"{column}_change"] = (
                value - old if isinstance(value, (int, float)) and isinstance(old, (int, float)) else None
            )
        rows.append(merged)
    return rows


def compute(reader: Reader, window: Window, service: str = "") -> Review:
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, (sql, keys) in TABLES.items():
        current = reader.query(sql, {**window.params(), "service": service}).dicts()
        previous = reader.query(sql, {**window.previous.params(), "service": service}).dicts()
        tables[name] = _with_previous(current, previous, keys)
    return Review(window, service, tables)
