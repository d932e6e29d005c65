-- Model prices, one row per model-matching clause of genai-prices' data (loaded by sync_prices, never by hand).
-- The cost MV reads only the newest `version`, so a reload inserts the new set first and deletes the old after:
-- a concurrent insert never sees an empty or half-loaded table. Every shard needs the full set for its MV,
-- so in cluster mode this table is replicated to every node (not sharded, no Distributed table).
-- Prices are Array(Tuple(threshold, usd_per_million)), ascending: the first element (threshold 0) is the base
-- price, later ones apply when the call's total input tokens exceed the threshold (genai-prices' tier rule).
-- An empty array means the model has no price for that unit.

CREATE TABLE IF NOT EXISTS {{shared_table prices}} {{on_cluster}} (
    version UInt64,
    provider_id LowCardinality(String),
    model_id String,
    model_name String,
    priority UInt32,
    match_kind LowCardinality(String),
    pattern String,
    start_date Date,
    input_mtok Array(Tuple(UInt64, Float64)),
    cache_read_mtok Array(Tuple(UInt64, Float64)),
    cache_write_mtok Array(Tuple(UInt64, Float64)),
    cache_write_1h_mtok Array(Tuple(UInt64, Float64)),
    output_mtok Array(Tuple(UInt64, Float64))
) ENGINE = {{shared_engine MergeTree}}
ORDER BY (provider_id, priority, pattern, start_date, version)
SETTINGS index_granularity = 8192{{dedup}};
