-- One row per tool outcome: `execute_tool {name}` spans (ours, and any GenAI-semconv instrumentation) and
-- OpenLLMetry tool spans (traceloop.span.kind = tool). Success comes from firsttoken.tool.success when present,
-- else from the span status (an errored tool span is a failure).

CREATE TABLE IF NOT EXISTS {{table tool_calls}} {{on_cluster}} (
    timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    scope_name LowCardinality(String),
    tool_name LowCardinality(String),
    tool_call_id String CODEC(ZSTD(1)),
    tool_type LowCardinality(String),
    success Bool,
    source LowCardinality(String),
    failure_reason String CODEC(ZSTD(1)),
    error_type LowCardinality(String),
    status LowCardinality(String),
    duration_ms Float64,
    task_id String CODEC(ZSTD(1)),
    task_name LowCardinality(String),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = {{engine MergeTree}}
PARTITION BY toDate(timestamp)
ORDER BY (service_name, tool_name, toStartOfMinute(timestamp), timestamp)
{{ttl toDateTime(timestamp)}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1{{dedup}};

{{distributed tool_calls cityHash64(trace_id)}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{view tool_calls_mv}} {{on_cluster}}
TO {{table tool_calls}}
AS SELECT
    Timestamp AS timestamp,
    TraceId AS trace_id,
    SpanId AS span_id,
    ParentSpanId AS parent_span_id,
    ServiceName AS service_name,
    ScopeName AS scope_name,
    multiIf(
        SpanAttributes['gen_ai.tool.name'] != '', SpanAttributes['gen_ai.tool.name'],
        SpanAttributes['traceloop.entity.name'] != '', SpanAttributes['traceloop.entity.name'],
        startsWith(SpanName, 'execute_tool '), substring(SpanName, 14),
        SpanName) AS tool_name,
    SpanAttributes['gen_ai.tool.call.id'] AS tool_call_id,
    SpanAttributes['gen_ai.tool.type'] AS tool_type,
    multiIf(
        StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'error',
        StatusCode IN ('Ok', 'STATUS_CODE_OK'), 'ok',
        'unset') AS status,
    multiIf(
        SpanAttributes['firsttoken.tool.success'] = 'true', true,
        SpanAttributes['firsttoken.tool.success'] = 'false', false,
        status != 'error') AS success,
    SpanAttributes['firsttoken.tool.source'] AS source,
    SpanAttributes['firsttoken.tool.failure_reason'] AS failure_reason,
    SpanAttributes['error.type'] AS error_type,
    Duration / 1e6 AS duration_ms,
    SpanAttributes['firsttoken.task.id'] AS task_id,
    SpanAttributes['firsttoken.task.name'] AS task_name
FROM {{table otel_traces}}
-- The kind test comes first: it is a cheap column test that skips the map lookups for LLM call spans (CLIENT), the
-- bulk of the traffic; tool executions are INTERNAL (semconv) or at least not CLIENT.
WHERE SpanKind NOT IN ('Client', 'SPAN_KIND_CLIENT')
  AND (SpanAttributes['gen_ai.operation.name'] = 'execute_tool'
   OR (SpanAttributes['gen_ai.operation.name'] = '' AND startsWith(SpanName, 'execute_tool '))
   OR SpanAttributes['traceloop.span.kind'] = 'tool');
