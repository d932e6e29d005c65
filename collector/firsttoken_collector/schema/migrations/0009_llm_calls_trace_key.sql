-- A 64-bit hash of trace_id, computed at insert, so that "most expensive traces" can rank millions of traces by
-- aggregating on a UInt64 instead of a 32-character string (the dashboards' benchmark: 10M calls in 7 days, 5.4M
-- traces, from ~2-4 s to ~0.6 s), then read the real trace_id of the top rows only. Rows written before this
-- migration compute it when read (a MATERIALIZED column missing from a part is evaluated from its expression).
-- A hash collision could only merge two traces' ranks; the figures shown are grouped by the real trace_id.

{{add_column llm_calls trace_key UInt64 MATERIALIZED cityHash64(trace_id) CODEC(ZSTD(1)) AFTER trace_id}};
