"""Every Grafana panel query, query variable and alert rule query on a large synthetic dataset in embedded ClickHouse.

The dataset is generated in SQL (`INSERT ... SELECT ... FROM numbers(N)`) and spread over 8 days: N LLM call spans
(CLIENT), N/5 tool outcome spans (`execute_tool ...`) and ~N/25 task spans (`invoke_workflow ...`) in `otel_traces`,
and the N `llm_calls` rows of the LLM call spans. Tool and task spans go through the schema's views (`tool_calls`,
`tasks`); the `llm_calls` rows are written directly, with `llm_calls_mv` detached while their spans are inserted
(through the view, this machine stores a few hundred to 8,000 spans/s: hours for 10M rows), and `llm_calls_1m` fills
through its view on `llm_calls`. `check_view` runs the real view on the first spans in a scratch database and counts
the rows that differ from the written ones (0: every column the same, except the cost of peers' spans, priced by the
view from genai-prices and here from the price list below). Distributions: 4 services, 2 providers, 6 models (one
embeddings model), 50 tenants (skewed), log-normal TTFT / duration / tokens per model, prompt caching, ~1.5% errors
(429, 529, timeouts, 5xx) plus throttled-but-retried calls, model tool calls with some invalid arguments, structured
output with some invalid answers, and ~half of the calls inside tasks (1-20 calls each); 85% of the LLM spans carry
their own cost (firsttoken's SDK), the rest come from a peer instrumentation without cost. Calls are spread evenly in
time (no daily cycle).

Each dashboard is then loaded the way Grafana loads it (query variables first, set to All; model comparison on its
two main models; the trace drill-down on one task's trace), every panel target is expanded with the plugin's macros
(tests/dashboards/grafana_sql.py) for the last 24 h and 7 d of the data, and run once to warm up and then three times
(best of three reported). Alert rules run over their own evaluation window and over 24 h / 7 d. The boards with a
tenant variable then run again with the busiest tenant selected (their rollup panels then aggregate that tenant's
`llm_calls` rows, since the rollup has no tenant key).

Run: python benchmarks/dashboard_queries.py [--rows 10000000] [--keep DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import clickhouse_connect
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.dashboards.grafana_sql import TimeRange, expand, load_variables  # noqa: E402

from firsttoken_collector.schema import migrate  # noqa: E402

DATABASE = "firsttoken"
BOARDS = sorted((ROOT / "dashboards" / "json").glob("*.json"))
ALERTS = ROOT / "dashboards" / "provisioning" / "alerting" / "firsttoken-alerts.yaml"
FLOOR_S = 1.0
# LLM spans from a peer instrumentation (no cost on the span: the view prices them with its price join)
PEER_SHARE = 0.15
DAYS = 8
# The data ends here (fixed, so a kept dataset and a fresh one look the same); ranges end at the data's last minute.
END = "2026-11-20 00:00:00"
# Grafana's $__interval: range / max data points (the panel's width in pixels; ~1000 for a half-width panel on a
# laptop screen), rounded to a "nice" interval, never below the panel's min interval.
MAX_DATA_POINTS = 1000
RANGES = {"24h": 24 * 3600, "7d": 7 * 24 * 3600}

# ---------------------------------------------------------------- data generation (SQL)

# Uniform [0, 1) and approximately standard normal values, deterministic per row and salt.
_U = "(cityHash64({n}, {salt}) % 1000000 / 1000000.0)"


def _u(n: str, salt: int) -> str:
    return _U.format(n=n, salt=salt)


def _z(n: str, salt: int) -> str:
    """Irwin-Hall approximation of a standard normal (sum of 4 uniforms, centred and scaled)."""
    return "((" + " + ".join(_u(n, salt * 10 + i) for i in range(4)) + " - 2.0) * 1.7320508)"


def _pick(u: str, choices: list[tuple[str, float]]) -> str:
    """multiIf over cumulative weights: one of the choices (SQL literals) for a uniform u."""
    total, parts = 0.0, []
    for value, weight in choices[:-1]:
        total += weight
        parts.append(f"{u} < {total:.6f}, {value}")
    return f"multiIf({', '.join(parts)}, {choices[-1][0]})"


SERVICES = [("'voice-agent'", 0.4), ("'support-bot'", 0.3), ("'search-api'", 0.2), ("'batch-summarizer'", 0.1)]
# model, provider, response model, weight, ttft median ms, ms per output token, output median, $/Mtok in/cache/out
MODELS = [
    ("claude-haiku-4-5", "anthropic", "claude-haiku-4-5-20251001", 0.30, 350, 6, 120, 1.0, 0.1, 5.0),
    ("gpt-5-mini", "openai", "gpt-5-mini-2025-08-07", 0.25, 420, 8, 160, 0.25, 0.025, 2.0),
    ("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5-20250929", 0.15, 600, 12, 250, 3.0, 0.3, 15.0),
    ("gpt-5", "openai", "gpt-5-2025-08-07", 0.10, 900, 15, 300, 1.25, 0.125, 10.0),
    ("gpt-4.1-mini", "openai", "gpt-4.1-mini-2025-04-14", 0.10, 300, 5, 100, 0.4, 0.1, 1.6),
    ("text-embedding-3-small", "openai", "text-embedding-3-small", 0.10, 0, 0, 0, 0.02, 0.02, 0.0),
]
TOOLS = [("'search'", 0.35), ("'lookup_order'", 0.25), ("'get_weather'", 0.15), ("'create_ticket'", 0.15)]
TOOLS_LAST = ("'send_email'", 0.10)
TASK_NAMES = [("'voice_turn'", 0.35), ("'triage'", 0.25), ("'plan'", 0.15), ("'research'", 0.15), ("'summarize'", 0.1)]


def _model_field(index: int) -> str:
    """A per-model value: multiIf over the model index `mi`."""
    values = [repr(m[index]) if isinstance(m[index], str) else str(m[index]) for m in MODELS]
    parts = [f"mi = {i}, {v}" for i, v in enumerate(values[:-1])]
    return f"multiIf({', '.join(parts)}, {values[-1]})"


def _trace_id(key: str) -> str:
    return f"lower(concat(hex(cityHash64({key}, 1)), hex(cityHash64({key}, 2))))"


def _span_id(key: str, salt: int) -> str:
    return f"lower(hex(cityHash64({key}, {salt})))"


def _group_fields(g: str) -> str:
    """Fields shared by every call, tool and task of group g (20 consecutive call numbers; one task per group)."""
    return f""",
        {_pick(_u(g, 11), SERVICES)} AS service,
        concat('tenant-', leftPad(toString(1 + toUInt32(floor(50 * pow({_u(g, 12)}, 2)))), 2, '0')) AS tenant,
        concat('user-', toString(cityHash64({g}, 13) % 5000)) AS user_id,
        {_pick(_u(g, 14), TASK_NAMES)} AS task_name,
        1 + cityHash64({g}, 15) % 20 AS task_calls,
        concat('task-', lower(hex(cityHash64({g}, 16)))) AS task_id,
        {_span_id(g, 17)} AS task_span_id,
        {_trace_id(g)} AS task_trace_id"""


def _time(n: str, total: int) -> str:
    """Call n's start in ns: spread evenly over the days before END (one slot per call), jittered within its slot."""
    span_ns = DAYS * 86400 * 10**9
    step = max(span_ns // total, 1)
    end_ns = f"toUnixTimestamp(toDateTime('{END}', 'UTC')) * 1000000000"
    return f"{end_ns} - {span_ns} + toUInt64({n}) * {step} + cityHash64({n}, 18) % {step}"


def _llm_base(rows: int, offset: int, size: int) -> str:
    """One row per LLM call with its generated properties (shared by the span and the typed-row inserts)."""
    n, g = "number", "intDiv(number, 20)"
    model_weights = [(str(i), m[3]) for i, m in enumerate(MODELS)]
    tool_names = f"arraySlice([{', '.join(t for t, _ in [*TOOLS, TOOLS_LAST])}], 1 + cityHash64(number, 31) % 5, "
    return f"""(
    SELECT
        {n} AS n,
        {_time(n, rows)} AS start_ns{_group_fields(g)},
        ({n} % 20) < task_calls AND service != 'search-api' AS in_task,
        toUInt8({_pick(_u(n, 1), model_weights)}) AS mi,
        {_model_field(0)} AS model,
        {_model_field(1)} AS provider,
        {_model_field(2)} AS response_model,
        mi = 5 AS is_embedding,
        if(is_embedding, 'embeddings', 'chat') AS operation,
        {_u(n, 2)} < {1 - PEER_SHARE} AS ours,
        NOT is_embedding AND (service = 'voice-agent' OR {_u(n, 3)} < 0.5) AS stream,
        {_u(n, 4)} AS fault,
        fault < 0.015 AS is_error,
        fault >= 0.015 AND fault < 0.035 AS retried_throttle,
        multiIf(NOT is_error, '', fault < 0.006, 'RateLimitError',
            fault < 0.009, if(provider = 'anthropic', 'OverloadedError', 'InternalServerError'),
            fault < 0.012, 'APITimeoutError', 'InternalServerError') AS error_type,
        toUInt16(multiIf(error_type = 'RateLimitError', 429, error_type = 'OverloadedError', 529,
            error_type = 'InternalServerError', 500, 0)) AS status_code,
        exp(log(greatest({_model_field(4)}, 1)) + 0.45 * {_z(n, 5)})
            * if(service = 'voice-agent', 0.8, 1.0) AS ttft_ms,
        toUInt64(if(is_embedding, 0, greatest(1, exp(log({_model_field(6)}) + 0.8 * {_z(n, 6)})))) AS output_tokens,
        toUInt64(greatest(8, exp(log(if(is_embedding, 400, if(service = 'voice-agent', 1800, 6000)))
            + 0.9 * {_z(n, 7)}))) AS input_tokens,
        toUInt64(if(NOT is_embedding AND {_u(n, 8)} < if(provider = 'anthropic', 0.6, 0.45),
            floor(input_tokens * (0.5 + 0.4 * {_u(n, 9)})), 0)) AS cache_read,
        toUInt64(if(provider = 'anthropic' AND cache_read = 0 AND {_u(n, 10)} < 0.1,
            floor(input_tokens * 0.6), 0)) AS cache_write,
        multiIf(is_error AND error_type = 'APITimeoutError', 30000.0,
            is_error, 20 + 200 * {_u(n, 19)},
            is_embedding, exp(log(80) + 0.4 * {_z(n, 20)}),
            if(stream, ttft_ms, exp(log(greatest({_model_field(4)}, 1)) + 0.45 * {_z(n, 5)}))
                + output_tokens * {_model_field(5)} * (0.7 + 0.6 * {_u(n, 23)})) AS duration_ms,
        toUInt64(duration_ms * 1000000) AS duration_ns,
        round(ttft_ms / 1000, 6) AS ttft_s,
        {_trace_id("n + 1000000000000")} AS own_trace_id,
        {_span_id("n", 21)} AS span_id,
        concat('msg_', {_span_id("n", 22)}) AS response_id,
        if(ours, 'firsttoken', if(provider = 'anthropic', 'opentelemetry.instrumentation.anthropic',
            'opentelemetry.instrumentation.openai_v2')) AS scope_name,
        (toInt64(input_tokens) - cache_read - cache_write) * {_model_field(7)} / 1e6 AS cost_in,
        cache_read * {_model_field(8)} / 1e6 AS cost_cache,
        output_tokens * {_model_field(9)} / 1e6 AS cost_out,
        if(NOT is_embedding AND NOT is_error AND {_u(n, 30)} < 0.2, {tool_names}
            1 + toUInt8({_u(n, 32)} < 0.3)), []) AS tools,
        toUInt32(if(notEmpty(tools) AND {_u(n, 33)} < 0.03, 1, 0)) AS tools_invalid,
        NOT is_embedding AND {_u(n, 34)} < 0.15 AS structured,
        {_u(n, 35)} < 0.97 AS structured_ok
    FROM numbers({offset}, {size})
)"""


def llm_spans_sql(rows: int, offset: int, size: int) -> str:
    """LLM call spans [offset, offset + size) of `rows` as otel_traces rows."""
    return f"""INSERT INTO {DATABASE}.otel_traces
    (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ResourceAttributes, ScopeName,
     ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage)
SELECT
    fromUnixTimestamp64Nano(toInt64(start_ns), 'UTC') AS Timestamp,
    if(in_task, task_trace_id, own_trace_id) AS TraceId,
    span_id AS SpanId,
    if(in_task, task_span_id, '') AS ParentSpanId,
    concat(operation, ' ', model) AS SpanName,
    'Client' AS SpanKind,
    service AS ServiceName,
    map('service.name', service, 'telemetry.sdk.language', 'python', 'deployment.environment', 'prod')
        AS ResourceAttributes,
    scope_name AS ScopeName,
    if(ours, '0.4.0', '0.62.0') AS ScopeVersion,
    mapFilter((k, v) -> v != '', map(
        'gen_ai.operation.name', operation,
        'gen_ai.provider.name', provider,
        'gen_ai.request.model', model,
        'gen_ai.response.model', if(is_error, '', response_model),
        'gen_ai.response.id', if(is_error, '', response_id),
        'server.address', if(provider = 'anthropic', 'api.anthropic.com', 'api.openai.com'),
        'gen_ai.request.stream', if(stream, 'true', 'false'),
        'firsttoken.stream.completed', if(ours AND stream AND NOT is_error, 'true', ''),
        'gen_ai.response.time_to_first_chunk', if(stream AND NOT is_error, toString(ttft_s), ''),
        'gen_ai.usage.input_tokens', if(is_error, '', toString(input_tokens)),
        'gen_ai.usage.output_tokens', if(is_error OR is_embedding, '', toString(output_tokens)),
        'gen_ai.usage.cache_read.input_tokens', if(is_error OR is_embedding, '', toString(cache_read)),
        'gen_ai.usage.cache_creation.input_tokens', if(is_error OR provider != 'anthropic', '', toString(cache_write)),
        'firsttoken.cache.hit', if(ours AND NOT is_error AND NOT is_embedding, if(cache_read > 0, 'true', 'false'), ''),
        'firsttoken.cost.usd', if(ours AND NOT is_error, toString(cost_in + cost_cache + cost_out), ''),
        'firsttoken.cost.input_usd', if(ours AND NOT is_error, toString(cost_in), ''),
        'firsttoken.cost.cache_read_usd', if(ours AND NOT is_error, toString(cost_cache), ''),
        'firsttoken.cost.cache_write_usd', if(ours AND NOT is_error, '0', ''),
        'firsttoken.cost.output_usd', if(ours AND NOT is_error, toString(cost_out), ''),
        'firsttoken.cost.priced', if(ours, if(is_error, 'false', 'true'), ''),
        'gen_ai.response.finish_reasons', if(is_error OR is_embedding, '',
            if(notEmpty(tools), '["tool_use"]', '["end_turn"]')),
        'error.type', error_type,
        'http.response.status_code', if(status_code = 0, '', toString(status_code)),
        'firsttoken.throttled', if(ours AND retried_throttle, 'true', ''),
        'firsttoken.retries', if(ours, toString(if(retried_throttle, 1, 0)), ''),
        'firsttoken.task.id', if(in_task, task_id, ''),
        'firsttoken.task.name', if(in_task, task_name, ''),
        'firsttoken.tool_calls.names', if(empty(tools), '', toJSONString(tools)),
        'firsttoken.tool_calls.count', if(empty(tools), '', toString(length(tools))),
        'firsttoken.tool_calls.invalid', if(empty(tools), '', toString(tools_invalid)),
        'firsttoken.structured_output.requested', if(structured, 'true', ''),
        'firsttoken.structured_output.valid', if(structured AND NOT is_error, if(structured_ok, 'true', 'false'), ''),
        'firsttoken.structured_output.error', if(structured AND NOT is_error AND NOT structured_ok,
            'schema: missing required property', ''),
        'user.id', user_id,
        'firsttoken.tenant', if(ours, tenant, ''),
        'firsttoken.feature', if(ours, service, ''))) AS SpanAttributes,
    duration_ns AS Duration,
    if(is_error, 'Error', 'Unset') AS StatusCode,
    if(is_error, error_type, '') AS StatusMessage
FROM {_llm_base(rows, offset, size)}"""


def llm_rows_sql(rows: int, offset: int, size: int) -> str:
    """The llm_calls rows llm_calls_mv makes of the same spans, written directly (column for column what the view
    derives from the attributes above; peers' costs from this file's price list instead of genai-prices)."""
    return f"""INSERT INTO {DATABASE}.llm_calls
SELECT
    fromUnixTimestamp64Nano(toInt64(start_ns), 'UTC') AS timestamp,
    if(in_task, task_trace_id, own_trace_id) AS trace_id,
    span_id,
    if(in_task, task_span_id, '') AS parent_span_id,
    service AS service_name,
    scope_name,
    concat(operation, ' ', model) AS span_name,
    provider,
    operation,
    model,
    model AS request_model,
    if(is_error, '', response_model) AS response_model,
    if(is_error, '', response_id) AS response_id,
    if(provider = 'anthropic', 'api.anthropic.com', 'api.openai.com') AS server_address,
    CAST(stream AS Nullable(Bool)) AS stream,
    CAST(if(ours AND stream AND NOT is_error, true, NULL) AS Nullable(Bool)) AS stream_completed,
    duration_ns / 1e6 AS duration_ms,
    if(stream AND NOT is_error, ttft_s * 1000, NULL) AS ttft_ms,
    if(is_error, NULL, input_tokens) AS input_tokens,
    if(is_error OR is_embedding, NULL, output_tokens) AS output_tokens,
    if(is_error OR is_embedding, NULL, cache_read) AS cache_read_tokens,
    if(is_error OR provider != 'anthropic', NULL, cache_write) AS cache_write_tokens,
    CAST(NULL AS Nullable(UInt64)) AS cache_write_1h_tokens,
    CAST(NULL AS Nullable(UInt64)) AS reasoning_tokens,
    CAST(if(is_error OR is_embedding, NULL, cache_read > 0) AS Nullable(Bool)) AS cache_hit,
    false AS usage_missing,
    if(is_error, NULL, cost_in + cost_cache + cost_out) AS cost_usd,
    if(is_error, NULL, cost_in) AS input_cost_usd,
    if(is_error, NULL, cost_out) AS output_cost_usd,
    if(is_error, NULL, cost_cache) AS cache_read_cost_usd,
    if(is_error, NULL, 0.0) AS cache_write_cost_usd,
    if(is_error, NULL, if(ours, 'span', 'computed')) AS cost_source,
    NOT is_error AS priced,
    if(ours OR is_error, '', model) AS price_model_id,
    if(is_error OR is_embedding, '', if(notEmpty(tools), 'tool_use', 'end_turn')) AS finish_reason,
    if(is_error, 'error', 'unset') AS status,
    is_error,
    error_type,
    multiIf(NOT is_error, '', status_code = 429, 'rate_limit', status_code = 529, 'overloaded',
        error_type = 'APITimeoutError', 'timeout', 'server_error') AS error_category,
    if(status_code = 0, NULL, status_code) AS http_status_code,
    (ours AND retried_throttle) OR error_category IN ('rate_limit', 'overloaded') AS throttled,
    if(ours, toUInt32(retried_throttle), NULL) AS retries,
    if(in_task, task_id, '') AS task_id,
    if(in_task, task_name, '') AS task_name,
    tools AS tool_call_names,
    if(empty(tools), NULL, toUInt32(length(tools))) AS tool_calls_count,
    if(empty(tools), NULL, tools_invalid) AS tool_calls_invalid,
    structured AS structured_requested,
    CAST(if(structured AND NOT is_error, structured_ok, NULL) AS Nullable(Bool)) AS structured_valid,
    if(structured AND NOT is_error AND NOT structured_ok, 'schema: missing required property', '')
        AS structured_error,
    CAST(NULL AS Nullable(Bool)) AS refusal,
    user_id,
    if(ours, tenant, '') AS tenant,
    if(ours, service, '') AS feature
FROM {_llm_base(rows, offset, size)}"""


def tool_spans_sql(rows: int) -> str:
    """N/5 tool outcome spans, each after LLM call number 5m (its trace and task)."""
    m, n, g = "number", "(number * 5)", "intDiv(number * 5, 20)"
    return f"""
INSERT INTO {DATABASE}.otel_traces
    (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ResourceAttributes, ScopeName,
     ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage)
SELECT
    fromUnixTimestamp64Nano(toInt64(start_ns + 500000000), 'UTC') AS Timestamp,
    if(in_task, task_trace_id, {_trace_id("n + 1000000000000")}) AS TraceId,
    {_span_id("m", 41)} AS SpanId,
    if(in_task, task_span_id, '') AS ParentSpanId,
    concat('execute_tool ', tool) AS SpanName,
    'Internal' AS SpanKind,
    service AS ServiceName,
    map('service.name', service, 'telemetry.sdk.language', 'python') AS ResourceAttributes,
    'firsttoken' AS ScopeName,
    '0.4.0' AS ScopeVersion,
    mapFilter((k, v) -> v != '', map(
        'gen_ai.operation.name', 'execute_tool',
        'gen_ai.tool.name', tool,
        'gen_ai.tool.call.id', concat('toolu_', {_span_id("m", 42)}),
        'gen_ai.tool.type', 'function',
        'firsttoken.tool.success', if(ok, 'true', 'false'),
        'firsttoken.tool.source', if(inferred, 'inferred', 'explicit'),
        'firsttoken.tool.failure_reason', if(ok, '', if(inferred, 'model retried the call', 'upstream timeout')),
        'error.type', if(ok OR inferred, '', 'TimeoutError'),
        'firsttoken.task.id', if(in_task, task_id, ''),
        'firsttoken.task.name', if(in_task, task_name, ''))) AS SpanAttributes,
    toUInt64(if(inferred, 0, exp(log(120) + 0.7 * {_z("m", 43)}) * 1000000)) AS Duration,
    if(ok OR inferred, 'Unset', 'Error') AS StatusCode,
    '' AS StatusMessage
FROM (
    SELECT
        {m} AS m,
        {n} AS n,
        {_time(n, rows)} AS start_ns{_group_fields(g)},
        ({n} % 20) < task_calls AND service != 'search-api' AS in_task,
        {_pick(_u(m, 44), [*TOOLS, TOOLS_LAST])} AS tool,
        {_u(m, 45)} < 0.2 AS inferred,
        {_u(m, 46)} >= if(tool = 'search', 0.08, 0.03) AS ok
    FROM numbers({rows // 5})
)"""


def task_spans_sql(rows: int) -> str:
    """N/20 task spans, one per group of 20 call numbers (its calls are the first `task_calls` of the group)."""
    g, n = "number", "(number * 20)"
    return f"""
INSERT INTO {DATABASE}.otel_traces
    (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ResourceAttributes, ScopeName,
     ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage)
SELECT
    fromUnixTimestamp64Nano(toInt64(start_ns - 5000000), 'UTC') AS Timestamp,
    task_trace_id AS TraceId,
    task_span_id AS SpanId,
    '' AS ParentSpanId,
    concat('invoke_workflow ', task_name) AS SpanName,
    'Internal' AS SpanKind,
    service AS ServiceName,
    map('service.name', service, 'telemetry.sdk.language', 'python') AS ResourceAttributes,
    'firsttoken' AS ScopeName,
    '0.4.0' AS ScopeVersion,
    mapFilter((k, v) -> v != '', map(
        'gen_ai.operation.name', 'invoke_workflow',
        'firsttoken.task.id', task_id,
        'firsttoken.task.name', task_name,
        'gen_ai.agent.name', concat(service, '-agent'),
        'firsttoken.task.status', status,
        'firsttoken.task.failure_reason', if(status = 'failed', 'gave up after retries', ''),
        'firsttoken.task.llm_calls', toString(task_calls),
        'firsttoken.task.llm_calls_in_flight', '0',
        'firsttoken.task.usage.input_tokens', toString(task_calls * 4000),
        'firsttoken.task.usage.output_tokens', toString(task_calls * 180),
        'firsttoken.task.tool_calls', toString(intDiv(task_calls, 5)),
        'firsttoken.task.tool_failures', toString(if(status = 'failed', 1, 0)),
        'firsttoken.task.cost.usd', toString(task_calls * exp(log(0.004) + 0.8 * {_z("g", 51)})),
        'firsttoken.task.cost.priced', if(priced, 'true', 'false'),
        'firsttoken.task.unpriced_calls', toString(if(priced, 0, 1)),
        'firsttoken.tenant', tenant,
        'user.id', user_id,
        'queue', if(task_name = 'triage', 'billing', ''))) AS SpanAttributes,
    toUInt64(task_calls * exp(log(1500) + 0.5 * {_z("g", 52)}) * 1000000) AS Duration,
    if(status = 'failed', 'Error', 'Unset') AS StatusCode,
    '' AS StatusMessage
FROM (
    SELECT
        {g} AS g,
        {_time(n, rows)} AS start_ns{_group_fields(g)},
        {_pick(_u(g, 53), [("'completed'", 0.94), ("'failed'", 0.05), ("'cancelled'", 0.01)])} AS status,
        {_u(g, 54)} < 0.95 AS priced
    FROM numbers({rows // 20})
    WHERE service != 'search-api'
)"""


def build(client: Any, rows: int) -> dict[str, float]:
    """Generate the dataset; seconds per stage.

    LLM call spans go into otel_traces with llm_calls_mv detached, and their llm_calls rows are written directly
    (the rollup view on llm_calls fills llm_calls_1m as usual): through the view, this machine stores ~8,000 spans/s
    when every span carries its cost and ~700/s when 15% need the price join, hours for 10M rows. Tool and task spans
    go through their views (and the trace-id view runs for every span)."""
    migrate(client, database=DATABASE)
    timings = {}
    chunk = 1_000_000
    started = time.perf_counter()
    client.command(f"DETACH TABLE {DATABASE}.llm_calls_mv")
    try:
        for offset in range(0, rows, chunk):
            size = min(chunk, rows - offset)
            client.command(llm_spans_sql(rows, offset, size))
            print(f"  llm spans {offset + size:>12,} / {rows:,}  {time.perf_counter() - started:7.1f} s", flush=True)
    finally:
        client.command(f"ATTACH TABLE {DATABASE}.llm_calls_mv")
    timings["LLM call spans -> otel_traces (+ trace-id view)"] = time.perf_counter() - started
    started = time.perf_counter()
    for offset in range(0, rows, chunk):
        size = min(chunk, rows - offset)
        client.command(llm_rows_sql(rows, offset, size))
        print(f"  llm_calls {offset + size:>12,} / {rows:,}  {time.perf_counter() - started:7.1f} s", flush=True)
    timings["llm_calls rows (+ llm_calls_1m rollup view)"] = time.perf_counter() - started
    started = time.perf_counter()
    client.command(tool_spans_sql(rows))
    timings["tool spans (+ tool_calls view)"] = time.perf_counter() - started
    started = time.perf_counter()
    client.command(task_spans_sql(rows))
    timings["task spans (+ tasks view)"] = time.perf_counter() - started
    return timings


def check_view(client: Any, rows: int, size: int = 4096) -> int:
    """Rows where llm_calls_mv, run on the first `size` generated spans in a scratch database, disagrees with the
    directly written rows (peers' cost columns excepted: the view prices them from genai-prices)."""
    scratch = f"{DATABASE}_check"
    migrate(client, database=scratch)
    client.command(llm_spans_sql(rows, 0, size).replace(f"INSERT INTO {DATABASE}.", f"INSERT INTO {scratch}."))
    columns = [
        r[0]
        for r in client.query(
            f"SELECT name FROM system.columns WHERE database = '{DATABASE}' AND table = 'llm_calls' ORDER BY position"
        ).result_rows
    ]
    priced_by_view = {"cost_usd", "input_cost_usd", "output_cost_usd", "cache_read_cost_usd", "cache_write_cost_usd",
                      "price_model_id"}  # fmt: skip
    select = ", ".join(f"if(scope_name = 'firsttoken', {c}, NULL)" if c in priced_by_view else c for c in columns)
    bad = int(
        client.command(
            f"SELECT count() FROM (SELECT {select} FROM {scratch}.llm_calls"
            f" EXCEPT SELECT {select} FROM {DATABASE}.llm_calls"
            f" WHERE span_id IN (SELECT span_id FROM {scratch}.llm_calls))"
        )
    )
    client.command(f"DROP DATABASE {scratch}")
    return bad


# ---------------------------------------------------------------- dashboards


def _grafana_interval(range_s: int, min_s: int) -> int:
    """Grafana's $__interval (kbn.roundInterval of range / max data points), at least the panel's min interval."""
    raw = range_s / MAX_DATA_POINTS
    steps = [
        (1.5, 1), (3.5, 2), (7.5, 5), (12.5, 10), (17.5, 15), (25, 20), (45, 30), (90, 60), (210, 120), (450, 300),
        (750, 600), (1050, 900), (1500, 1200), (2700, 1800), (5400, 3600), (8100, 7200), (16200, 10800),
        (32400, 21600), (86400, 43200),
    ]  # fmt: skip
    rounded = next((nice for limit, nice in steps if raw <= limit), 86400)
    return max(rounded, min_s)


def _min_interval(panel: dict[str, Any]) -> int:
    text = panel.get("interval") or ""
    if not text:
        return 0
    unit = {"s": 1, "m": 60, "h": 3600}[text[-1]]
    return int(text[:-1]) * unit


def _timed(client: Any, sql: str, repeat: int) -> tuple[float, int]:
    client.query(sql)  # warm-up
    best = float("inf")
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = client.query(sql)
        best = min(best, time.perf_counter() - started)
        rows = len(result.result_rows)
    return best, rows


@dataclass
class Measured:
    board: str
    panel: str
    range_name: str
    seconds: float
    rows: int


def _run_board(
    client: Any, name: str, board: dict[str, Any], range_name: str, range_s: int, end_ms: int, chosen: dict[str, Any],
    repeat: int,
) -> list[Measured]:  # fmt: skip
    time_range = TimeRange(end_ms - range_s * 1000, end_ms)
    variables = load_variables(board, chosen)
    all_values: dict[str, list[str]] = {}

    def expanded(sql: str, min_interval: int) -> str:
        interval_s = _grafana_interval(range_s, min_interval)
        return expand(sql, variables=variables, all_values=all_values, time_range=time_range, interval_s=interval_s)

    measured = []
    # query variables first, in order (later ones depend on earlier ones), as Grafana does when the dashboard loads
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        sql = expanded(variable["query"]["rawSql"], 0)
        seconds, rows = _timed(client, sql, repeat)
        all_values[variable["name"]] = [str(r[0]) for r in client.query(sql).result_rows]
        if not variables[variable["name"]]:  # single-value variable: Grafana selects the first value
            variables[variable["name"]] = all_values[variable["name"]][:1]
        measured.append(Measured(name, f"var ${variable['name']}", range_name, seconds, rows))
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            sql = expanded(target["rawSql"], _min_interval(panel))
            seconds, rows = _timed(client, sql, repeat)
            label = panel["title"] if len(panel["targets"]) == 1 else f"{panel['title']} [{target['refId']}]"
            measured.append(Measured(name, label, range_name, seconds, rows))
    return measured


def run_boards(
    client: Any, end_ms: int, chosen: dict[str, Any], repeat: int, *, only_with: str = "", label: str = ""
) -> list[Measured]:
    """Every board (or only those with the variable `only_with`), both ranges; `label` is appended to the name."""
    measured = []
    for path in BOARDS:
        board = json.loads(path.read_text())
        if only_with and only_with not in {v["name"] for v in board["templating"]["list"]}:
            continue
        for range_name, range_s in RANGES.items():
            measured += _run_board(client, path.stem + label, board, range_name, range_s, end_ms, chosen, repeat)
    return measured


def run_alerts(client: Any, end_ms: int, repeat: int) -> list[Measured]:
    alerts = yaml.safe_load(ALERTS.read_text())
    measured = []
    for group in alerts["groups"]:
        for rule in group["rules"]:
            for query in rule["data"]:
                if query["datasourceUid"] == "__expr__":
                    continue
                window_s = query["relativeTimeRange"]["from"]
                ranges = {f"alert {window_s // 60}m": window_s, **RANGES}
                for range_name, range_s in ranges.items():
                    sql = expand(
                        query["model"]["rawSql"],
                        variables={},
                        all_values={},
                        time_range=TimeRange(end_ms - range_s * 1000, end_ms),
                        interval_s=60,
                    )
                    seconds, rows = _timed(client, sql, repeat)
                    measured.append(
                        Measured("alerts", rule["uid"].removeprefix("firsttoken-"), range_name, seconds, rows)
                    )
    return measured


def print_table(measured: list[Measured]) -> None:
    board_w = max(len(m.board) for m in measured)
    panel_w = min(max(len(m.panel) for m in measured), 60)
    print(f"{'dashboard':<{board_w}}  {'panel':<{panel_w}}  {'range':<10}  {'seconds':>8}  {'rows':>7}  over 1 s")
    for m in measured:
        flag = "OVER" if m.seconds > FLOOR_S else ""
        panel = m.panel[:panel_w]
        print(f"{m.board:<{board_w}}  {panel:<{panel_w}}  {m.range_name:<10}  {m.seconds:8.3f}  {m.rows:>7}  {flag}")
    over = [m for m in measured if m.seconds > FLOOR_S]
    slowest = max(measured, key=lambda m: m.seconds)
    print(
        f"\n{len(measured)} queries; {len(over)} over the {FLOOR_S:.0f} s floor"
        f" ({len({(m.board, m.panel) for m in over})} distinct panels);"
        f" slowest: {slowest.board} / {slowest.panel} ({slowest.range_name}) {slowest.seconds:.3f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="LLM call spans (llm_calls rows)")
    parser.add_argument("--keep", type=Path, help="chDB directory to build into, or reuse when it holds the rows")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query after one warm-up (best kept)")
    args = parser.parse_args(argv)

    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="firsttoken-dashboards-"))
    workdir.mkdir(parents=True, exist_ok=True)
    client = clickhouse_connect.get_client(dsn=f"chdb://{workdir}")
    try:
        existing = 0
        if client.command(f"EXISTS TABLE {DATABASE}.llm_calls") == 1:
            existing = int(client.command(f"SELECT count() FROM {DATABASE}.llm_calls"))
        if existing and existing != args.rows:
            raise SystemExit(f"{workdir} holds {existing:,} llm_calls rows, not {args.rows:,}: use another --keep dir")
        if existing:
            print(f"reusing {workdir}: {existing:,} llm_calls rows")
        else:
            print(f"building {args.rows:,} LLM call spans in {workdir}")
            started = time.perf_counter()
            timings = build(client, args.rows)
            total = time.perf_counter() - started
            for stage, seconds in timings.items():
                print(f"  {stage}: {seconds:.1f} s")
            print(f"  build total: {total:.1f} s ({args.rows / total:,.0f} LLM call spans/s)")
            started = time.perf_counter()
            size = min(4096, args.rows)
            bad = check_view(client, args.rows, size)
            print(
                f"  llm_calls_mv on the first {size:,} spans vs the written rows: {bad} rows differ"
                f" ({time.perf_counter() - started:.1f} s)"
            )
        client.database = DATABASE
        counts = {
            table: int(client.command(f"SELECT count() FROM {table}"))
            for table in ("otel_traces", "llm_calls", "llm_calls_1m", "tool_calls", "tasks", "otel_traces_trace_id_ts")
        }
        print("rows: " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))
        end_ms = int(client.command("SELECT toUnixTimestamp(toStartOfMinute(max(timestamp))) FROM llm_calls"))
        end_ms = (end_ms + 60) * 1000
        # the drill-down opens on a task's trace from the middle of the last 24 h
        trace_id = client.command(
            "SELECT trace_id FROM tasks WHERE timestamp <= (SELECT max(timestamp) - INTERVAL 12 HOUR FROM tasks)"
            " ORDER BY timestamp DESC LIMIT 1"
        )
        chosen = {"model_a": ["claude-haiku-4-5"], "model_b": ["gpt-5-mini"], "trace_id": str(trace_id)}
        measured = run_boards(client, end_ms, chosen, args.repeat) + run_alerts(client, end_ms, args.repeat)
        # With one tenant selected, rollup panels aggregate that tenant's llm_calls rows (the rollup has no tenant).
        busiest = str(
            client.command(
                "SELECT tenant FROM llm_calls WHERE tenant != '' GROUP BY tenant ORDER BY count() DESC LIMIT 1"
            )
        )
        tenant_share = float(client.command(f"SELECT countIf(tenant = '{busiest}') / count() FROM llm_calls"))
        print(f"busiest tenant: {busiest} ({tenant_share:.0%} of the calls), selected in the '+{busiest}' rows")
        measured += run_boards(
            client, end_ms, {**chosen, "tenant": [busiest]}, args.repeat, only_with="tenant", label=f"+{busiest}"
        )
        print()
        print_table(measured)
    finally:
        client.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
