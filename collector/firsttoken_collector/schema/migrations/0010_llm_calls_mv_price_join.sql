-- llm_calls_mv, same rows, priced without copying every price rule into every span that needs a price.
-- 0005 joined each unpriced span (peers' spans: OpenLLMetry, the Anthropic SDK's own tracing, OpenTelemetry GenAI)
-- with its provider's whole rule list, prices included: ~1.2 MB and ~2 ms per span inside the insert (4,000 such
-- spans in one insert took 19 s and 4.8 GB). Now only the matching clauses travel with each row and the chosen
-- rule's prices are joined by its key: the same rows (checked against 0005's query in the tests), ~5x faster.
-- MODIFY QUERY swaps the view's query atomically: no insert runs without the view while this applies.

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
    input_cost_usd,
    output_cost_usd,
    cache_read_cost_usd,
    cache_write_cost_usd,
    cost_source,
    priced,
    price_model_id,
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
SELECT
    c.timestamp AS timestamp,
    c.trace_id AS trace_id,
    c.span_id AS span_id,
    c.parent_span_id AS parent_span_id,
    c.service_name AS service_name,
    c.scope_name AS scope_name,
    c.span_name AS span_name,
    c.provider AS provider,
    c.operation AS operation,
    c.model AS model,
    c.request_model AS request_model,
    c.response_model AS response_model,
    c.response_id AS response_id,
    c.server_address AS server_address,
    c.stream AS stream,
    c.stream_completed AS stream_completed,
    c.duration_ms AS duration_ms,
    c.ttft_ms AS ttft_ms,
    c.input_tokens AS input_tokens,
    c.output_tokens AS output_tokens,
    c.cache_read_tokens AS cache_read_tokens,
    c.cache_write_tokens AS cache_write_tokens,
    c.cache_write_1h_tokens AS cache_write_1h_tokens,
    c.reasoning_tokens AS reasoning_tokens,
    c.cache_hit AS cache_hit,
    c.usage_missing AS usage_missing,
    -- The rule chosen below (0: none); its prices come from the join on its full key.
    c.rule_index AS rule_index,
    -- Total input decides the tier (genai-prices: the highest tier whose threshold the total input exceeds).
    ifNull(c.input_tokens, 0) AS n_in,
    ifNull(c.cache_read_tokens, 0) AS n_cr,
    ifNull(c.cache_write_tokens, 0) AS n_cw,
    least(ifNull(c.cache_write_1h_tokens, 0), n_cw) AS n_cw1h,
    ifNull(c.output_tokens, 0) AS n_out,
    if(empty(pr.input_mtok), NULL, arrayLast(t -> t.1 = 0 OR n_in > t.1, pr.input_mtok).2) AS p_in,
    if(empty(pr.cache_read_mtok), NULL, arrayLast(t -> t.1 = 0 OR n_in > t.1, pr.cache_read_mtok).2) AS p_cr,
    if(empty(pr.cache_write_mtok), NULL, arrayLast(t -> t.1 = 0 OR n_in > t.1, pr.cache_write_mtok).2) AS p_cw,
    if(empty(pr.cache_write_1h_mtok), NULL, arrayLast(t -> t.1 = 0 OR n_in > t.1, pr.cache_write_1h_mtok).2) AS p_cw1h,
    if(empty(pr.output_mtok), NULL, arrayLast(t -> t.1 = 0 OR n_in > t.1, pr.output_mtok).2) AS p_out,
    -- Computable: a price rule with an input price, input tokens known, and output known (or not billed).
    rule_index > 0 AND p_in IS NOT NULL AND c.input_tokens IS NOT NULL
        AND (c.output_tokens IS NOT NULL OR c.operation = 'embeddings')
        AND (p_out IS NOT NULL OR n_out = 0) AS computable,
    -- Units the model has no price for are billed as plain input (genai-prices' decomposition).
    if(p_cr IS NULL, 0, n_cr) AS n_cr_priced,
    if(p_cw IS NULL, 0, n_cw) AS n_cw_priced,
    if(p_cw IS NULL OR p_cw1h IS NULL, 0, n_cw1h) AS n_cw1h_priced,
    if(computable, greatest(toInt64(n_in) - n_cr_priced - n_cw_priced, 0) * p_in / 1e6, NULL) AS computed_input,
    if(computable, n_cr_priced * ifNull(p_cr, 0) / 1e6, NULL) AS computed_cache_read,
    if(computable,
        ((n_cw_priced - n_cw1h_priced) * ifNull(p_cw, 0) + n_cw1h_priced * ifNull(p_cw1h, 0)) / 1e6,
        NULL) AS computed_cache_write,
    if(computable, n_out * ifNull(p_out, 0) / 1e6, NULL) AS computed_output,
    multiIf(
        c.span_cost IS NOT NULL, 'span',
        c.openlit_cost IS NOT NULL AND c.openlit_cost > 0, 'span',
        computable, 'computed',
        NULL) AS cost_source,
    multiIf(
        c.span_cost IS NOT NULL, c.span_cost,
        c.openlit_cost IS NOT NULL AND c.openlit_cost > 0, c.openlit_cost,
        computable, computed_input + computed_cache_read + computed_cache_write + computed_output,
        NULL) AS cost_usd,
    multiIf(c.span_cost IS NOT NULL, c.span_input_cost, cost_source = 'computed', computed_input, NULL)
        AS input_cost_usd,
    multiIf(c.span_cost IS NOT NULL, c.span_output_cost, cost_source = 'computed', computed_output, NULL)
        AS output_cost_usd,
    multiIf(c.span_cost IS NOT NULL, c.span_cache_read_cost, cost_source = 'computed', computed_cache_read, NULL)
        AS cache_read_cost_usd,
    multiIf(c.span_cost IS NOT NULL, c.span_cache_write_cost, cost_source = 'computed', computed_cache_write, NULL)
        AS cache_write_cost_usd,
    cost_usd IS NOT NULL AS priced,
    if(cost_source = 'computed', pr.model_id, '') AS price_model_id,
    c.finish_reason AS finish_reason,
    c.status AS status,
    c.is_error AS is_error,
    c.error_type AS error_type,
    c.error_category AS error_category,
    c.http_status_code AS http_status_code,
    c.throttled AS throttled,
    c.retries AS retries,
    c.task_id AS task_id,
    c.task_name AS task_name,
    c.tool_call_names AS tool_call_names,
    c.tool_calls_count AS tool_calls_count,
    c.tool_calls_invalid AS tool_calls_invalid,
    c.structured_requested AS structured_requested,
    c.structured_valid AS structured_valid,
    c.structured_error AS structured_error,
    c.refusal AS refusal,
    c.user_id AS user_id,
    c.tenant AS tenant,
    c.feature AS feature
FROM (
-- Which rule prices each span: the first rule of its provider whose clause matches. Only the clauses travel with
-- each row (kind, pattern, date, priority: tens of bytes a rule); a rule's prices are joined once it is chosen.
SELECT
    c.*,
    -- The price rule: the first rule of the provider (genai-prices' model order, newest effective date first)
    -- whose clause matches the normalized model id and that was in effect on the call's date.
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
    SELECT
        Timestamp AS timestamp,
        TraceId AS trace_id,
        SpanId AS span_id,
        ParentSpanId AS parent_span_id,
        ServiceName AS service_name,
        ScopeName AS scope_name,
        SpanName AS span_name,
        SpanAttributes AS a,
        lower(if(a['gen_ai.provider.name'] != '', a['gen_ai.provider.name'], a['gen_ai.system'])) AS provider,
        multiIf(
            a['gen_ai.operation.name'] != '', a['gen_ai.operation.name'],
            a['llm.request.type'] = 'embedding', 'embeddings',
            a['llm.request.type'] = 'completion', 'text_completion',
            'chat') AS operation,
        a['gen_ai.request.model'] AS request_model,
        a['gen_ai.response.model'] AS response_model,
        if(request_model != '', request_model, response_model) AS model,
        -- The id prices are matched on: the answering model (often a dated snapshot) else the requested one,
        -- lower-cased, without a router prefix ("anthropic/..."), a Bedrock region/vendor prefix
        -- ("us.anthropic.") or a Bedrock version suffix ("-v1:0").
        replaceRegexpOne(
            replaceRegexpOne(
                replaceRegexpOne(lower(if(response_model != '', response_model, request_model)), '^[a-z0-9_.-]+/', ''),
                '^(?:[a-z]{2,4}\\.)?(?:anthropic|openai)\\.', ''),
            '-v\\d+(?::\\d+)?$', '') AS price_model,
        multiIf(
            provider IN ('anthropic', 'aws.bedrock', 'gcp.vertex_ai', 'azure.ai.inference')
                AND position(price_model, 'claude') > 0, 'anthropic',
            provider IN ('openai', 'azure.ai.openai', 'azure'), 'openai',
            provider = '' AND startsWith(price_model, 'claude'), 'anthropic',
            provider = '' AND match(price_model, '^(?:gpt-|o[134]|text-embedding|chatgpt)'), 'openai',
            provider) AS price_provider,
        a['gen_ai.response.id'] AS response_id,
        a['server.address'] AS server_address,
        CAST(multiIf(
            a['gen_ai.request.stream'] IN ('true', 'True'), 1, a['gen_ai.request.stream'] IN ('false', 'False'), 0,
            a['llm.is_streaming'] IN ('true', 'True'), 1, a['llm.is_streaming'] IN ('false', 'False'), 0,
            NULL) AS Nullable(Bool)) AS stream,
        CAST(multiIf(a['firsttoken.stream.completed'] = 'true', 1, a['firsttoken.stream.completed'] = 'false', 0, NULL)
            AS Nullable(Bool)) AS stream_completed,
        Duration / 1e6 AS duration_ms,
        coalesce(
            toFloat64OrNull(a['gen_ai.response.time_to_first_chunk']),
            toFloat64OrNull(a['gen_ai.server.time_to_first_token'])) * 1000 AS ttft_ms,
        coalesce(
            toUInt64OrNull(a['gen_ai.usage.cache_read.input_tokens']),
            toUInt64OrNull(a['gen_ai.usage.cache_read_input_tokens'])) AS cache_read_tokens,
        coalesce(
            toUInt64OrNull(a['gen_ai.usage.cache_creation.input_tokens']),
            toUInt64OrNull(a['gen_ai.usage.cache_write.input_tokens']),
            toUInt64OrNull(a['gen_ai.usage.cache_creation_input_tokens'])) AS cache_write_tokens,
        coalesce(
            toUInt64OrNull(a['firsttoken.usage.cache_creation.ephemeral_1h_input_tokens']),
            toUInt64OrNull(a['anthropic.usage.cache_creation.ephemeral_1h_input_tokens'])) AS cache_write_1h_tokens,
        coalesce(
            toUInt64OrNull(a['gen_ai.usage.input_tokens']),
            toUInt64OrNull(a['gen_ai.usage.prompt_tokens']),
            toUInt64OrNull(a['llm.usage.prompt_tokens'])) AS reported_input_tokens,
        -- Input is the TOTAL (semconv). A reporter whose input excludes cache shows itself when its input is
        -- smaller than its cache reads plus writes: then the cache counts are added back.
        if(reported_input_tokens < ifNull(cache_read_tokens, 0) + ifNull(cache_write_tokens, 0),
            reported_input_tokens + ifNull(cache_read_tokens, 0) + ifNull(cache_write_tokens, 0),
            reported_input_tokens) AS input_tokens,
        coalesce(
            toUInt64OrNull(a['gen_ai.usage.output_tokens']),
            toUInt64OrNull(a['gen_ai.usage.completion_tokens']),
            toUInt64OrNull(a['llm.usage.completion_tokens'])) AS output_tokens,
        coalesce(
            toUInt64OrNull(a['gen_ai.usage.reasoning.output_tokens']),
            toUInt64OrNull(a['gen_ai.usage.reasoning_tokens'])) AS reasoning_tokens,
        CAST(multiIf(
            a['firsttoken.cache.hit'] = 'true', 1, a['firsttoken.cache.hit'] = 'false', 0,
            cache_read_tokens IS NOT NULL, cache_read_tokens > 0,
            NULL) AS Nullable(Bool)) AS cache_hit,
        a['firsttoken.usage.missing'] = 'true' AS usage_missing,
        toFloat64OrNull(a['firsttoken.cost.usd']) AS span_cost,
        toFloat64OrNull(a['firsttoken.cost.input_usd']) AS span_input_cost,
        toFloat64OrNull(a['firsttoken.cost.output_usd']) AS span_output_cost,
        toFloat64OrNull(a['firsttoken.cost.cache_read_usd']) AS span_cache_read_cost,
        toFloat64OrNull(a['firsttoken.cost.cache_write_usd']) AS span_cache_write_cost,
        toFloat64OrNull(a['gen_ai.usage.cost']) AS openlit_cost,
        -- Only spans that were not priced where they were made look up a price: the join hands every matching row
        -- its provider's whole rule list, which is most of this view's cost. firsttoken's own spans were priced
        -- (or found unpriceable, `firsttoken.cost.priced=false`) by the SDK from the same genai-prices data.
        if(span_cost IS NULL AND ifNull(openlit_cost, 0) <= 0 AND a['firsttoken.cost.priced'] = '',
            price_provider, '') AS price_join_key,
        a['gen_ai.response.finish_reasons'] AS finish_reasons_raw,
        multiIf(
            startsWith(finish_reasons_raw, '['), JSONExtract(finish_reasons_raw, 'Array(String)')[1],
            finish_reasons_raw != '', finish_reasons_raw,
            a['anthropic.message.stop_reason'] != '', a['anthropic.message.stop_reason'],
            a['llm.response.finish_reason'] != '', a['llm.response.finish_reason'],
            a['llm.response.stop_reason']) AS finish_reason,
        multiIf(
            StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'error',
            StatusCode IN ('Ok', 'STATUS_CODE_OK'), 'ok',
            'unset') AS status,
        status = 'error' AS is_error,
        a['error.type'] AS error_type,
        toUInt16OrNull(a['http.response.status_code']) AS http_status_code,
        multiIf(
            a['firsttoken.error.category'] != '', a['firsttoken.error.category'],
            NOT is_error, '',
            http_status_code = 429 OR error_type = 'RateLimitError', 'rate_limit',
            http_status_code = 529 OR error_type = 'OverloadedError', 'overloaded',
            error_type IN ('APITimeoutError', 'TimeoutError', 'ReadTimeout'), 'timeout',
            error_type = 'APIConnectionError', 'connection',
            http_status_code >= 500, 'server_error',
            http_status_code >= 400, 'client_error',
            'other') AS error_category,
        a['firsttoken.throttled'] = 'true' OR error_category IN ('rate_limit', 'overloaded') AS throttled,
        toUInt32OrNull(a['firsttoken.retries']) AS retries,
        a['firsttoken.task.id'] AS task_id,
        a['firsttoken.task.name'] AS task_name,
        if(startsWith(a['firsttoken.tool_calls.names'], '['),
            JSONExtract(a['firsttoken.tool_calls.names'], 'Array(String)'), []) AS tool_call_names,
        coalesce(toUInt32OrNull(a['firsttoken.tool_calls.count']),
            if(empty(tool_call_names), NULL, toUInt32(length(tool_call_names)))) AS tool_calls_count,
        toUInt32OrNull(a['firsttoken.tool_calls.invalid']) AS tool_calls_invalid,
        a['firsttoken.structured_output.requested'] = 'true' AS structured_requested,
        CAST(multiIf(a['firsttoken.structured_output.valid'] = 'true', 1,
            a['firsttoken.structured_output.valid'] = 'false', 0, NULL) AS Nullable(Bool)) AS structured_valid,
        a['firsttoken.structured_output.error'] AS structured_error,
        CAST(multiIf(a['firsttoken.refusal'] = 'true', 1, a['firsttoken.refusal'] = 'false', 0,
            finish_reason = 'refusal', 1, NULL) AS Nullable(Bool)) AS refusal,
        a['user.id'] AS user_id,
        a['firsttoken.tenant'] AS tenant,
        a['firsttoken.feature'] AS feature
    FROM {{table otel_traces}}
    WHERE SpanKind IN ('Client', 'SPAN_KIND_CLIENT')
      AND (
        SpanAttributes['gen_ai.operation.name'] IN
            ('chat', 'text_completion', 'embeddings', 'generate_content', 'completion', 'embedding', 'responses')
        OR (SpanAttributes['gen_ai.operation.name'] = ''
            AND (SpanAttributes['llm.request.type'] IN ('chat', 'completion', 'embedding')
                 OR SpanName = 'anthropic.messages.create'))
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
);
