-- One row per task span (`invoke_workflow {name}` from firsttoken.task, or any GenAI-semconv workflow span).
-- Totals are the task span's own roll-up (LLM calls, tokens, tools, cost); NULL when the span did not carry them.

CREATE TABLE IF NOT EXISTS {{table tasks}} {{on_cluster}} (
    timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    task_id String CODEC(ZSTD(1)),
    task_name LowCardinality(String),
    parent_task_id String CODEC(ZSTD(1)),
    agent_name LowCardinality(String),
    status LowCardinality(String),
    completed Bool,
    failure_reason String CODEC(ZSTD(1)),
    duration_ms Float64,
    llm_calls Nullable(UInt32),
    llm_calls_in_flight Nullable(UInt32),
    input_tokens Nullable(UInt64),
    output_tokens Nullable(UInt64),
    tool_calls Nullable(UInt32),
    tool_failures Nullable(UInt32),
    cost_usd Nullable(Float64),
    cost_priced Nullable(Bool),
    unpriced_calls Nullable(UInt32),
    user_id String CODEC(ZSTD(1)),
    tenant LowCardinality(String),
    feature LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_task_id task_id TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = {{engine MergeTree}}
PARTITION BY toDate(timestamp)
ORDER BY (service_name, task_name, toStartOfMinute(timestamp), timestamp)
{{ttl toDateTime(timestamp)}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1{{dedup}};

{{distributed tasks cityHash64(trace_id)}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{view tasks_mv}} {{on_cluster}}
TO {{table tasks}}
AS SELECT
    Timestamp AS timestamp,
    TraceId AS trace_id,
    SpanId AS span_id,
    ParentSpanId AS parent_span_id,
    ServiceName AS service_name,
    SpanAttributes['firsttoken.task.id'] AS task_id,
    if(SpanAttributes['firsttoken.task.name'] != '', SpanAttributes['firsttoken.task.name'],
        replaceRegexpOne(SpanName, '^invoke_workflow ', '')) AS task_name,
    SpanAttributes['firsttoken.task.parent_id'] AS parent_task_id,
    SpanAttributes['gen_ai.agent.name'] AS agent_name,
    multiIf(
        SpanAttributes['firsttoken.task.status'] != '', SpanAttributes['firsttoken.task.status'],
        StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'failed',
        'completed') AS status,
    status = 'completed' AS completed,
    SpanAttributes['firsttoken.task.failure_reason'] AS failure_reason,
    Duration / 1e6 AS duration_ms,
    toUInt32OrNull(SpanAttributes['firsttoken.task.llm_calls']) AS llm_calls,
    toUInt32OrNull(SpanAttributes['firsttoken.task.llm_calls_in_flight']) AS llm_calls_in_flight,
    toUInt64OrNull(SpanAttributes['firsttoken.task.usage.input_tokens']) AS input_tokens,
    toUInt64OrNull(SpanAttributes['firsttoken.task.usage.output_tokens']) AS output_tokens,
    toUInt32OrNull(SpanAttributes['firsttoken.task.tool_calls']) AS tool_calls,
    toUInt32OrNull(SpanAttributes['firsttoken.task.tool_failures']) AS tool_failures,
    toFloat64OrNull(SpanAttributes['firsttoken.task.cost.usd']) AS cost_usd,
    CAST(multiIf(SpanAttributes['firsttoken.task.cost.priced'] = 'true', 1,
        SpanAttributes['firsttoken.task.cost.priced'] = 'false', 0, NULL) AS Nullable(Bool)) AS cost_priced,
    toUInt32OrNull(SpanAttributes['firsttoken.task.unpriced_calls']) AS unpriced_calls,
    SpanAttributes['user.id'] AS user_id,
    SpanAttributes['firsttoken.tenant'] AS tenant,
    SpanAttributes['firsttoken.feature'] AS feature,
    SpanAttributes AS attributes
FROM {{table otel_traces}}
-- The kind test first skips the map lookups for LLM call spans (CLIENT), the bulk of the traffic.
WHERE SpanKind NOT IN ('Client', 'SPAN_KIND_CLIENT')
  AND (SpanAttributes['gen_ai.operation.name'] = 'invoke_workflow'
   OR (SpanAttributes['gen_ai.operation.name'] = '' AND startsWith(SpanName, 'invoke_workflow ')));
