-- Fewer background merges per stored row: parts are merged ~10 at a time instead of ~5.
-- A MergeTree table rewrites a row each time the part holding it is merged; with `merge_selector_base` 5 (the
-- default) a row is rewritten about log5(final part / inserted part) times over its life, with 10 about log10 of it,
-- ~30% fewer rewrites, for up to about twice as many active parts per partition (tens, far below the insert limits;
-- a query reads a few more parts). Measured (benchmarks/merge_cost.py, chDB 26.9): 655,360 LLM spans inserted in
-- 40 blocks with every view, until merges settle: 9.7 -> 5.0 rows written by merges per span, ClickHouse CPU
-- 63.6 -> 49.6 us per span, the same active parts at the end. Applies to the tables that grow with traffic;
-- `prices` and the bookkeeping table keep the default.

ALTER TABLE {{table otel_traces}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table otel_traces_trace_id_ts}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table llm_calls}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table llm_calls_1m}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table tool_calls}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table tasks}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table otel_logs}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table otel_metrics_gauge}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table otel_metrics_sum}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table otel_metrics_histogram}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table otel_metrics_exp_histogram}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
ALTER TABLE {{table otel_metrics_summary}} {{on_cluster}} MODIFY SETTING merge_selector_base = 10;
