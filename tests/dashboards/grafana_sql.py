"""What Grafana and the ClickHouse datasource plugin do to a panel's SQL before ClickHouse sees it, implemented from
the plugin's macro table (reference/grafana-clickhouse.md, pkg/macros/macros.go):

1. `$__conditionalAll(cond, $v)` (frontend, before interpolation): `cond`, or `1=1` when `$v` is empty or All;
2. template variables: `${v:singlequote}` -> `'a','b'`; `$v` / `${v}` -> a single value as is, several as a quoted,
   comma-separated list;
3. the plugin's macros over the dashboard range: `$__timeFilter`, `$__timeFilter_ms`, `$__dateFilter`,
   `$__timeFrom`, `$__timeTo`, `$__fromTime(_ms)`, `$__toTime(_ms)`, `$__timeInterval(_ms)`, `$__interval_s`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

ALL = "$__all"
Value = str | Sequence[str]


@dataclass(frozen=True)
class TimeRange:
    from_ms: int
    to_ms: int

    @property
    def from_s(self) -> int:
        return self.from_ms // 1000

    @property
    def to_s(self) -> int:
        return self.to_ms // 1000


def _values(value: Value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _is_all_or_empty(value: Value) -> bool:
    values = _values(value)
    return not values or values == [""] or ALL in values


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _calls(sql: str, name: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, top-level arguments) of each `name(...)` call, innermost parentheses respected."""
    found = []
    for match in re.finditer(re.escape(name) + r"\(", sql):
        depth, args, current, quote = 1, [], [], ""
        index = match.end()
        while depth:
            char = sql[index]
            if quote:
                if char == quote and sql[index - 1] != "\\":
                    quote = ""
            elif char in "'\"`":
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if not depth:
                    break
            elif char == "," and depth == 1:
                args.append("".join(current))
                current = []
                index += 1
                continue
            current.append(char)
            index += 1
        args.append("".join(current))
        found.append((match.start(), index + 1, [a.strip() for a in args]))
    return found


def conditional_all(sql: str, variables: Mapping[str, Value]) -> str:
    while calls := _calls(sql, "$__conditionalAll"):
        start, end, args = calls[0]
        assert len(args) >= 2, f"$__conditionalAll needs (condition, $variable): {sql[start:end]}"
        condition, variable = ",".join(args[:-1]), args[-1]
        name = variable.strip("${}").split(":")[0]
        assert name in variables, f"unknown variable {variable} in $__conditionalAll"
        sql = sql[:start] + ("1=1" if _is_all_or_empty(variables[name]) else condition) + sql[end:]
    return sql


def interpolate(sql: str, variables: Mapping[str, Value], all_values: Mapping[str, Sequence[str]]) -> str:
    def value_of(name: str) -> list[str]:
        assert name in variables, f"unknown variable ${name}"
        values = _values(variables[name])
        return list(all_values.get(name, [])) if ALL in values else values

    def braced(match: re.Match[str]) -> str:
        name, fmt = match.group(1), match.group(2)
        if name.startswith("__"):
            return match.group(0)
        values = value_of(name)
        if fmt == "singlequote":
            return ",".join(_quote(v) for v in values)
        assert fmt is None, f"format {fmt} not implemented"
        return values[0] if len(values) == 1 else ",".join(_quote(v) for v in values)

    def bare(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("__"):
            return match.group(0)
        values = value_of(name)
        return values[0] if len(values) == 1 else ",".join(_quote(v) for v in values)

    sql = re.sub(r"\$\{(\w+)(?::(\w+))?\}", braced, sql)
    return re.sub(r"\$(\w+)", bare, sql)


def macros(sql: str, time_range: TimeRange, interval_s: int) -> str:
    n = max(interval_s, 1)
    f_s, t_s, f_ms, t_ms = time_range.from_s, time_range.to_s, time_range.from_ms, time_range.to_ms
    day = lambda ms: datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")  # noqa: E731
    one_arg = {
        "$__timeFilter_ms": lambda c: (
            f"{c} >= fromUnixTimestamp64Milli({f_ms}) AND {c} <= fromUnixTimestamp64Milli({t_ms})"
        ),
        "$__timeFilter": lambda c: f"{c} >= toDateTime({f_s}) AND {c} <= toDateTime({t_s})",
        "$__dateFilter": lambda c: f"{c} >= toDate('{day(f_ms)}') AND {c} <= toDate('{day(t_ms)}')",
        "$__timeFrom": lambda c: f"{c} >= toDateTime({f_s})",
        "$__timeTo": lambda c: f"{c} <= toDateTime({t_s})",
        "$__timeInterval_ms": lambda c: f"toStartOfInterval(toDateTime64({c}, 3), INTERVAL {n * 1000} millisecond)",
        "$__timeInterval": lambda c: f"toStartOfInterval(toDateTime({c}), INTERVAL {n} second)",
    }
    for name, expand in one_arg.items():
        while calls := [c for c in _calls(sql, name) if sql[c[0] + len(name)] == "("]:
            start, end, args = calls[0]
            assert len(args) == 1, f"{name} takes one column: {sql[start:end]}"
            sql = sql[:start] + expand(args[0]) + sql[end:]
    plain = {
        "$__fromTime_ms": f"fromUnixTimestamp64Milli({f_ms})",
        "$__toTime_ms": f"fromUnixTimestamp64Milli({t_ms})",
        "$__fromTime": f"toDateTime({f_s})",
        "$__toTime": f"toDateTime({t_s})",
        "$__interval_s": str(n),
    }
    for name, text in plain.items():
        sql = re.sub(re.escape(name) + r"(?!\w)", text, sql)
    return sql


def expand(
    sql: str,
    *,
    variables: Mapping[str, Value],
    all_values: Mapping[str, Sequence[str]],
    time_range: TimeRange,
    interval_s: int,
) -> str:
    """The SQL ClickHouse receives for a panel target (or a variable's query) under these settings."""
    sql = conditional_all(sql, variables)
    sql = interpolate(sql, variables, all_values)
    sql = macros(sql, time_range, interval_s)
    assert "$" not in sql, f"unexpanded macro or variable left in:\n{sql}"
    return sql


def load_variables(board: Mapping[str, Any], chosen: Mapping[str, Any]) -> dict[str, Any]:
    """The variables as Grafana sets them when the dashboard loads (the provisioned datasource, textbox defaults, All
    for multi-value or include-All variables, else empty), then `chosen` for the variables the board has."""
    values: dict[str, Any] = {}
    for variable in board["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "datasource":
            values[name] = "firsttoken-clickhouse"
        elif variable["type"] == "textbox":
            values[name] = variable["query"]
        else:
            values[name] = [ALL] if variable.get("multi") or variable.get("includeAll") else ""
    values.update({k: v for k, v in chosen.items() if k in values})
    return values


def alert_firing(rule: Mapping[str, Any], rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """The rows of an alert query that cross the rule's threshold (Grafana's threshold expression on the last,
    numeric column; a NULL never fires)."""
    (condition,) = [d for d in rule["data"] if d["refId"] == rule["condition"]]
    evaluator = condition["model"]["conditions"][0]["evaluator"]
    (threshold,) = evaluator["params"]
    compare = {"gt": lambda v: v > threshold, "lt": lambda v: v < threshold}[evaluator["type"]]
    return [row for row in rows if row[-1] is not None and compare(row[-1])]
