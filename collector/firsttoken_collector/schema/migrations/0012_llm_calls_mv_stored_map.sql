-- llm_calls_mv, same rows, ~40% cheaper per span: attributes are looked up in the Map column as stored.
-- 0011 read them from `CAST(SpanAttributes, 'Map(String, String)')`, a per-row copy whose keys are plain strings.
-- The exporter's map keys are LowCardinality(String), and the view's ~60 lookups cost ~2.6 us per span on the
-- stored map against ~6.4 on a Map(String, String) (chDB 26.9, 30,000 LLM spans); with the copy itself 0011 spent
-- ~14 us per span in this view, this query ~9. Every layer and expression is otherwise 0011's; the tests compare the
-- rows with 0010's query.

ALTER TABLE {{view llm_calls_mv}} {{on_cluster}} MODIFY QUERY
SELECT
    timestamp,
    trace_id,
    span_id,
    parent_span_id,
    service_name,
    scope_name,
    span_name,
    provider,
    operation,
    model,
    request_model,
    response_model,
    response_id,
    server_address,
    stream,
    stream_completed,
    duration_ms,
    ttft_ms,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    cache_write_1h_tokens,
    reasoning_tokens,
    cache_hit,
    usage_missing,
    cost_usd,
    multiIf(span_cost IS NOT NULL, span_input_cost, cost_source = 'computed', computed_input, NULL) AS input_cost_usd,
    multiIf(span_cost IS NOT NULL, span_output_cost, cost_source = 'computed', computed_output, NULL)
        AS output_cost_usd,
    multiIf(span_cost IS NOT NULL, span_cache_read_cost, cost_source = 'computed', computed_cache_read, NULL)
        AS cache_read_cost_usd,
    multiIf(span_cost IS NOT NULL, span_cache_write_cost, cost_source = 'computed', computed_cache_write, NULL)
        AS cache_write_cost_usd,
    cost_source,
    cost_usd IS NOT NULL AS priced,
    if(cost_source = 'computed', rule_model_id, '') AS price_model_id,
    finish_reason,
    status,
    is_error,
    error_type,
    error_category,
    http_status_code,
    throttled,
    retries,
    task_id,
    task_name,
    tool_call_names,
    tool_calls_count,
    tool_calls_invalid,
    structured_requested,
    structured_valid,
    structured_error,
    refusal,
    user_id,
    tenant,
    feature
FROM (
-- Layer 6: the cost and where it came from (the span's own, OpenLIT's, or computed from a price rule).
SELECT
    *,
    multiIf(
        span_cost IS NOT NULL, 'span',
        openlit_cost IS NOT NULL AND openlit_cost > 0, 'span',
        computable, 'computed',
        NULL) AS cost_source,
    multiIf(
        span_cost IS NOT NULL, span_cost,
        openlit_cost IS NOT NULL AND openlit_cost > 0, openlit_cost,
        computable, computed_input + computed_cache_read + computed_cache_write + computed_output,
        NULL) AS cost_usd
FROM (
-- Layer 5: the computed parts. Units the model has no price for are billed as plain input (genai-prices'
-- decomposition).
SELECT
    *,
    if(computable, greatest(toInt64(n_in) - n_cr_priced - n_cw_priced, 0) * p_in / 1e6, NULL) AS computed_input,
    if(computable, n_cr_priced * ifNull(p_cr, 0) / 1e6, NULL) AS computed_cache_read,
    if(computable,
        ((n_cw_priced - n_cw1h_priced) * ifNull(p_cw, 0) + n_cw1h_priced * ifNull(p_cw1h, 0)) / 1e6,
        NULL) AS computed_cache_write,
    if(computable, n_out * ifNull(p_out, 0) / 1e6, NULL) AS computed_output
FROM (
-- Layer 4: whether a cost is computable, and the token counts each price applies to.
SELECT
    *,
    -- Computable: a price rule with an input price, input tokens known, and output known (or not billed).
    rule_index > 0 AND p_in IS NOT NULL AND input_tokens IS NOT NULL
        AND (output_tokens IS NOT NULL OR operation = 'embeddings')
        AND (p_out IS NOT NULL OR n_out = 0) AS computable,
    if(p_cr IS NULL, 0, n_cr) AS n_cr_priced,
    if(p_cw IS NULL, 0, n_cw) AS n_cw_priced,
    if(p_cw IS NULL OR p_cw1h IS NULL, 0, n_cw1h) AS n_cw1h_priced
FROM (
-- Layer 3: the chosen rule's prices, at the tier the total input reaches (genai-prices: the highest tier whose
-- threshold the total input exceeds).
SELECT
    c.*,
    ifNull(c.input_tokens, 0) AS n_in,
    ifNull(c.cache_read_tokens, 0) AS n_cr,
    ifNull(c.cache_write_tokens, 0) AS n_cw,
    least(ifNull(c.cache_write_1h_tokens, 0), ifNull(c.cache_write_tokens, 0)) AS n_cw1h,
    ifNull(c.output_tokens, 0) AS n_out,
    if(empty(pr.input_mtok), NULL,
        arrayLast(t -> t.1 = 0 OR ifNull(c.input_tokens, 0) > t.1, pr.input_mtok).2) AS p_in,
    if(empty(pr.cache_read_mtok), NULL,
        arrayLast(t -> t.1 = 0 OR ifNull(c.input_tokens, 0) > t.1, pr.cache_read_mtok).2) AS p_cr,
    if(empty(pr.cache_write_mtok), NULL,
        arrayLast(t -> t.1 = 0 OR ifNull(c.input_tokens, 0) > t.1, pr.cache_write_mtok).2) AS p_cw,
    if(empty(pr.cache_write_1h_mtok), NULL,
        arrayLast(t -> t.1 = 0 OR ifNull(c.input_tokens, 0) > t.1, pr.cache_write_1h_mtok).2) AS p_cw1h,
    if(empty(pr.output_mtok), NULL,
        arrayLast(t -> t.1 = 0 OR ifNull(c.input_tokens, 0) > t.1, pr.output_mtok).2) AS p_out,
    pr.model_id AS rule_model_id
FROM (
-- Layer 2b: which rule prices each span: the first rule of its provider whose clause matches the normalized model
-- id and that was in effect on the call's date (genai-prices' model order, newest effective date first). Only the
-- clauses travel with each row; the chosen rule's prices are joined by its key in layer 3.
SELECT
    c.*,
    arrayFirstIndex(
        r -> r.3 <= toDate(c.timestamp)
            AND multiIf(
                r.1 = 'equals', c.price_model = r.2,
                r.1 = 'prefix', startsWith(c.price_model, r.2),
                r.1 = 'suffix', endsWith(c.price_model, r.2),
                r.1 = 'contains', position(c.price_model, r.2) > 0,
                r.1 = 'regex', match(c.price_model, r.2),
                false),
        p.clauses) AS rule_index,
    -- Index 0 (no match) yields the default tuple, which joins no price row: nothing is computable.
    p.clauses[rule_index] AS rule_clause
FROM (
-- Layer 2: values that combine layer 1's.
SELECT
    *,
    -- Input is the TOTAL (semconv). A reporter whose input excludes cache shows itself when its input is smaller
    -- than its cache reads plus writes: then the cache counts are added back.
    if(reported_input_tokens < ifNull(cache_read_tokens, 0) + ifNull(cache_write_tokens, 0),
        reported_input_tokens + ifNull(cache_read_tokens, 0) + ifNull(cache_write_tokens, 0),
        reported_input_tokens) AS input_tokens,
    CAST(multiIf(
        a_cache_hit = 'true', 1, a_cache_hit = 'false', 0,
        cache_read_tokens IS NOT NULL, cache_read_tokens > 0,
        NULL) AS Nullable(Bool)) AS cache_hit,
    multiIf(
        provider IN ('anthropic', 'aws.bedrock', 'gcp.vertex_ai', 'azure.ai.inference')
            AND position(price_model, 'claude') > 0, 'anthropic',
        provider IN ('openai', 'azure.ai.openai', 'azure'), 'openai',
        provider = '' AND startsWith(price_model, 'claude'), 'anthropic',
        provider = '' AND match(price_model, '^(?:gpt-|o[134]|text-embedding|chatgpt)'), 'openai',
        provider) AS price_provider,
    -- Only spans that were not priced where they were made look up a price. firsttoken's own spans were priced (or
    -- found unpriceable, `firsttoken.cost.priced=false`) by the SDK from the same genai-prices data.
    if(span_cost IS NULL AND ifNull(openlit_cost, 0) <= 0 AND a_cost_priced = '', price_provider, '')
        AS price_join_key,
    status = 'error' AS is_error,
    multiIf(
        a_error_category != '', a_error_category,
        NOT (status = 'error'), '',
        http_status_code = 429 OR error_type = 'RateLimitError', 'rate_limit',
        http_status_code = 529 OR error_type = 'OverloadedError', 'overloaded',
        error_type IN ('APITimeoutError', 'TimeoutError', 'ReadTimeout'), 'timeout',
        error_type = 'APIConnectionError', 'connection',
        http_status_code >= 500, 'server_error',
        http_status_code >= 400, 'client_error',
        'other') AS error_category,
    a_throttled = 'true' OR error_category IN ('rate_limit', 'overloaded') AS throttled,
    coalesce(a_tool_calls_count, if(empty(tool_call_names), NULL, toUInt32(length(tool_call_names))))
        AS tool_calls_count,
    CAST(multiIf(a_refusal = 'true', 1, a_refusal = 'false', 0, finish_reason = 'refusal', 1, NULL)
        AS Nullable(Bool)) AS refusal
FROM (
-- Layer 1b: typed values, each from layer 1's attribute columns.
SELECT
    *,
    lower(if(a_provider_name != '', a_provider_name, a_system)) AS provider,
    multiIf(
        a_operation != '', a_operation,
        a_llm_request_type = 'embedding', 'embeddings',
        a_llm_request_type = 'completion', 'text_completion',
        'chat') AS operation,
    if(request_model != '', request_model, response_model) AS model,
    -- The id prices are matched on: the answering model (often a dated snapshot) else the requested one,
    -- lower-cased, without a router prefix ("anthropic/..."), a Bedrock region/vendor prefix ("us.anthropic.") or
    -- a Bedrock version suffix ("-v1:0").
    replaceRegexpOne(
        replaceRegexpOne(
            replaceRegexpOne(lower(if(response_model != '', response_model, request_model)), '^[a-z0-9_.-]+/', ''),
            '^(?:[a-z]{2,4}\\.)?(?:anthropic|openai)\\.', ''),
        '-v\\d+(?::\\d+)?$', '') AS price_model,
    CAST(multiIf(
        a_stream IN ('true', 'True'), 1, a_stream IN ('false', 'False'), 0,
        a_llm_is_streaming IN ('true', 'True'), 1, a_llm_is_streaming IN ('false', 'False'), 0,
        NULL) AS Nullable(Bool)) AS stream,
    CAST(multiIf(a_stream_completed = 'true', 1, a_stream_completed = 'false', 0, NULL) AS Nullable(Bool))
        AS stream_completed,
    duration_ns / 1e6 AS duration_ms,
    coalesce(toFloat64OrNull(a_ttfc), toFloat64OrNull(a_server_ttft)) * 1000 AS ttft_ms,
    coalesce(toUInt64OrNull(a_cache_read_1), toUInt64OrNull(a_cache_read_2)) AS cache_read_tokens,
    coalesce(toUInt64OrNull(a_cache_write_1), toUInt64OrNull(a_cache_write_2), toUInt64OrNull(a_cache_write_3))
        AS cache_write_tokens,
    coalesce(toUInt64OrNull(a_cache_write_1h_1), toUInt64OrNull(a_cache_write_1h_2)) AS cache_write_1h_tokens,
    coalesce(toUInt64OrNull(a_input_1), toUInt64OrNull(a_input_2), toUInt64OrNull(a_input_3))
        AS reported_input_tokens,
    coalesce(toUInt64OrNull(a_output_1), toUInt64OrNull(a_output_2), toUInt64OrNull(a_output_3)) AS output_tokens,
    coalesce(toUInt64OrNull(a_reasoning_1), toUInt64OrNull(a_reasoning_2)) AS reasoning_tokens,
    a_usage_missing = 'true' AS usage_missing,
    toFloat64OrNull(a_cost) AS span_cost,
    toFloat64OrNull(a_cost_input) AS span_input_cost,
    toFloat64OrNull(a_cost_output) AS span_output_cost,
    toFloat64OrNull(a_cost_cache_read) AS span_cache_read_cost,
    toFloat64OrNull(a_cost_cache_write) AS span_cache_write_cost,
    toFloat64OrNull(a_openlit_cost) AS openlit_cost,
    multiIf(
        startsWith(finish_reasons_raw, '['), JSONExtract(finish_reasons_raw, 'Array(String)')[1],
        finish_reasons_raw != '', finish_reasons_raw,
        a_stop_reason != '', a_stop_reason,
        a_llm_finish_reason != '', a_llm_finish_reason,
        a_llm_stop_reason) AS finish_reason,
    multiIf(
        status_code IN ('Error', 'STATUS_CODE_ERROR'), 'error',
        status_code IN ('Ok', 'STATUS_CODE_OK'), 'ok',
        'unset') AS status,
    toUInt16OrNull(a_http_status_code) AS http_status_code,
    toUInt32OrNull(a_retries) AS retries,
    if(startsWith(a_tool_call_names, '['), JSONExtract(a_tool_call_names, 'Array(String)'), []) AS tool_call_names,
    toUInt32OrNull(a_tool_calls_count_raw) AS a_tool_calls_count,
    toUInt32OrNull(a_tool_calls_invalid) AS tool_calls_invalid,
    a_structured_requested = 'true' AS structured_requested,
    CAST(multiIf(a_structured_valid = 'true', 1, a_structured_valid = 'false', 0, NULL) AS Nullable(Bool))
        AS structured_valid
FROM (
-- Layer 1: the LLM call spans, and every attribute the view reads, looked up once each.
SELECT
    Timestamp AS timestamp,
    TraceId AS trace_id,
    SpanId AS span_id,
    ParentSpanId AS parent_span_id,
    ServiceName AS service_name,
    ScopeName AS scope_name,
    SpanName AS span_name,
    StatusCode AS status_code,
    Duration AS duration_ns,
    a['gen_ai.provider.name'] AS a_provider_name,
    a['gen_ai.system'] AS a_system,
    a['gen_ai.operation.name'] AS a_operation,
    a['llm.request.type'] AS a_llm_request_type,
    a['gen_ai.request.model'] AS request_model,
    a['gen_ai.response.model'] AS response_model,
    a['gen_ai.response.id'] AS response_id,
    a['server.address'] AS server_address,
    a['gen_ai.request.stream'] AS a_stream,
    a['llm.is_streaming'] AS a_llm_is_streaming,
    a['firsttoken.stream.completed'] AS a_stream_completed,
    a['gen_ai.response.time_to_first_chunk'] AS a_ttfc,
    a['gen_ai.server.time_to_first_token'] AS a_server_ttft,
    a['gen_ai.usage.cache_read.input_tokens'] AS a_cache_read_1,
    a['gen_ai.usage.cache_read_input_tokens'] AS a_cache_read_2,
    a['gen_ai.usage.cache_creation.input_tokens'] AS a_cache_write_1,
    a['gen_ai.usage.cache_write.input_tokens'] AS a_cache_write_2,
    a['gen_ai.usage.cache_creation_input_tokens'] AS a_cache_write_3,
    a['firsttoken.usage.cache_creation.ephemeral_1h_input_tokens'] AS a_cache_write_1h_1,
    a['anthropic.usage.cache_creation.ephemeral_1h_input_tokens'] AS a_cache_write_1h_2,
    a['gen_ai.usage.input_tokens'] AS a_input_1,
    a['gen_ai.usage.prompt_tokens'] AS a_input_2,
    a['llm.usage.prompt_tokens'] AS a_input_3,
    a['gen_ai.usage.output_tokens'] AS a_output_1,
    a['gen_ai.usage.completion_tokens'] AS a_output_2,
    a['llm.usage.completion_tokens'] AS a_output_3,
    a['gen_ai.usage.reasoning.output_tokens'] AS a_reasoning_1,
    a['gen_ai.usage.reasoning_tokens'] AS a_reasoning_2,
    a['firsttoken.cache.hit'] AS a_cache_hit,
    a['firsttoken.usage.missing'] AS a_usage_missing,
    a['firsttoken.cost.usd'] AS a_cost,
    a['firsttoken.cost.input_usd'] AS a_cost_input,
    a['firsttoken.cost.output_usd'] AS a_cost_output,
    a['firsttoken.cost.cache_read_usd'] AS a_cost_cache_read,
    a['firsttoken.cost.cache_write_usd'] AS a_cost_cache_write,
    a['firsttoken.cost.priced'] AS a_cost_priced,
    a['gen_ai.usage.cost'] AS a_openlit_cost,
    a['gen_ai.response.finish_reasons'] AS finish_reasons_raw,
    a['anthropic.message.stop_reason'] AS a_stop_reason,
    a['llm.response.finish_reason'] AS a_llm_finish_reason,
    a['llm.response.stop_reason'] AS a_llm_stop_reason,
    a['error.type'] AS error_type,
    a['http.response.status_code'] AS a_http_status_code,
    a['firsttoken.error.category'] AS a_error_category,
    a['firsttoken.throttled'] AS a_throttled,
    a['firsttoken.retries'] AS a_retries,
    a['firsttoken.task.id'] AS task_id,
    a['firsttoken.task.name'] AS task_name,
    a['firsttoken.tool_calls.names'] AS a_tool_call_names,
    a['firsttoken.tool_calls.count'] AS a_tool_calls_count_raw,
    a['firsttoken.tool_calls.invalid'] AS a_tool_calls_invalid,
    a['firsttoken.structured_output.requested'] AS a_structured_requested,
    a['firsttoken.structured_output.valid'] AS a_structured_valid,
    a['firsttoken.structured_output.error'] AS structured_error,
    a['firsttoken.refusal'] AS a_refusal,
    a['user.id'] AS user_id,
    a['firsttoken.tenant'] AS tenant,
    a['firsttoken.feature'] AS feature
FROM (
    SELECT *, SpanAttributes AS a
    FROM {{table otel_traces}}
    WHERE SpanKind IN ('Client', 'SPAN_KIND_CLIENT')
)
WHERE a_operation IN
        ('chat', 'text_completion', 'embeddings', 'generate_content', 'completion', 'embedding', 'responses')
    OR (a_operation = '' AND (a_llm_request_type IN ('chat', 'completion', 'embedding')
        OR span_name = 'anthropic.messages.create'))
)
)
) AS c
LEFT JOIN (
    -- Clause tuple: 1 match kind, 2 pattern, 3 effective date, 4 priority.
    SELECT
        provider_id,
        arraySort(r -> (r.4, -toInt64(toUInt32(r.3))), groupArray(tuple(match_kind, pattern, start_date, priority)))
            AS clauses
    FROM {{shared_table prices}}
    WHERE version = (SELECT max(version) FROM {{shared_table prices}})
    GROUP BY provider_id
) AS p ON c.price_join_key = p.provider_id
) AS c
LEFT ANY JOIN (
    SELECT provider_id, match_kind, pattern, start_date, priority, input_mtok, cache_read_mtok, cache_write_mtok,
        cache_write_1h_mtok, output_mtok, model_id
    FROM {{shared_table prices}}
    WHERE version = (SELECT max(version) FROM {{shared_table prices}})
) AS pr ON if(c.rule_index = 0, '', c.price_join_key) = pr.provider_id AND c.rule_clause.1 = pr.match_kind
    AND c.rule_clause.2 = pr.pattern AND c.rule_clause.3 = pr.start_date AND c.rule_clause.4 = pr.priority
)
)
)
);
