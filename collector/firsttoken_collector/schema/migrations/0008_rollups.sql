-- Per-minute roll-up of llm_calls per service / provider / operation / model, for dashboards over long ranges.
-- Filled by a view on llm_calls (a chained view: it fires on the rows otel_traces' view writes there).
-- Counts and sums merge by addition; latency quantiles are t-digest states (read with quantilesTDigestMerge).
-- Always read with GROUP BY (rows of the same key are merged in the background, not at insert).

CREATE TABLE IF NOT EXISTS {{table llm_calls_1m}} {{on_cluster}} (
    minute DateTime CODEC(Delta, ZSTD(1)),
    service_name LowCardinality(String),
    provider LowCardinality(String),
    operation LowCardinality(String),
    model LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    throttled SimpleAggregateFunction(sum, UInt64),
    streams SimpleAggregateFunction(sum, UInt64),
    cache_hits SimpleAggregateFunction(sum, UInt64),
    calls_with_cache_info SimpleAggregateFunction(sum, UInt64),
    priced_calls SimpleAggregateFunction(sum, UInt64),
    unpriced_calls SimpleAggregateFunction(sum, UInt64),
    calls_with_usage SimpleAggregateFunction(sum, UInt64),
    input_tokens SimpleAggregateFunction(sum, UInt64),
    output_tokens SimpleAggregateFunction(sum, UInt64),
    cache_read_tokens SimpleAggregateFunction(sum, UInt64),
    cache_write_tokens SimpleAggregateFunction(sum, UInt64),
    cost_usd SimpleAggregateFunction(sum, Float64),
    structured_requested SimpleAggregateFunction(sum, UInt64),
    structured_valid SimpleAggregateFunction(sum, UInt64),
    tool_calls SimpleAggregateFunction(sum, UInt64),
    tool_calls_invalid SimpleAggregateFunction(sum, UInt64),
    duration_ms_quantiles AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64),
    ttft_ms_quantiles AggregateFunction(quantilesTDigest(0.5, 0.9, 0.95, 0.99), Float64)
) ENGINE = {{engine AggregatingMergeTree}}
PARTITION BY toYYYYMM(minute)
ORDER BY (service_name, provider, operation, model, minute)
{{ttl minute}}
SETTINGS index_granularity = 8192{{dedup}};

{{distributed llm_calls_1m rand()}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{view llm_calls_1m_mv}} {{on_cluster}}
TO {{table llm_calls_1m}}
AS SELECT
    toStartOfMinute(l.timestamp) AS minute,
    service_name,
    provider,
    operation,
    model,
    toUInt64(count()) AS calls,
    toUInt64(countIf(l.is_error)) AS errors,
    toUInt64(countIf(l.throttled)) AS throttled,
    toUInt64(countIf(l.stream = true)) AS streams,
    toUInt64(countIf(l.cache_hit = true)) AS cache_hits,
    toUInt64(countIf(l.cache_hit IS NOT NULL)) AS calls_with_cache_info,
    toUInt64(countIf(l.priced)) AS priced_calls,
    toUInt64(countIf(NOT l.priced)) AS unpriced_calls,
    toUInt64(countIf(l.input_tokens IS NOT NULL)) AS calls_with_usage,
    toUInt64(sum(ifNull(l.input_tokens, 0))) AS input_tokens,
    toUInt64(sum(ifNull(l.output_tokens, 0))) AS output_tokens,
    toUInt64(sum(ifNull(l.cache_read_tokens, 0))) AS cache_read_tokens,
    toUInt64(sum(ifNull(l.cache_write_tokens, 0))) AS cache_write_tokens,
    toFloat64(sum(ifNull(l.cost_usd, 0))) AS cost_usd,
    toUInt64(countIf(l.structured_requested)) AS structured_requested,
    toUInt64(countIf(l.structured_valid = true)) AS structured_valid,
    toUInt64(sum(ifNull(l.tool_calls_count, 0))) AS tool_calls,
    toUInt64(sum(ifNull(l.tool_calls_invalid, 0))) AS tool_calls_invalid,
    quantilesTDigestState(0.5, 0.9, 0.95, 0.99)(l.duration_ms) AS duration_ms_quantiles,
    quantilesTDigestStateIf(0.5, 0.9, 0.95, 0.99)(ifNull(l.ttft_ms, 0), l.ttft_ms IS NOT NULL) AS ttft_ms_quantiles
FROM {{table llm_calls}} AS l
GROUP BY minute, service_name, provider, operation, model;
