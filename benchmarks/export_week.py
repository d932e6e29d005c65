"""Weekly export at volume: `firsttoken export` over a week of N LLM calls (default one million) plus the week
before it, in embedded ClickHouse, every format written.

The rows are generated in SQL (INSERT ... SELECT FROM numbers()) straight into the typed tables, with realistic
spreads of services, models, tenants, latency, tokens, cost, errors, tools and tasks. Printed: the time to build the
data, then per run the query time (both windows, three tables), the time to write CSV + Parquet + JSON + HTML, and
the total against the issue's 10 s floor.

Run: python benchmarks/export_week.py [--calls 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import clickhouse_connect

from firsttoken_collector.query_api import DirectReader
from firsttoken_collector.review import export, figures, weeks
from firsttoken_collector.schema import migrate

WEEK = "2026-W47"


def build(client: object, calls: int, start: str) -> None:
    """Two weeks from `start` (the previous week, then the reviewed one); `calls` per week."""
    seconds = 14 * 86400
    client.command(  # type: ignore[attr-defined]
        f"""
        INSERT INTO firsttoken.llm_calls
            (timestamp, trace_id, span_id, service_name, scope_name, provider, operation, model, request_model,
             response_model, stream, duration_ms, ttft_ms, input_tokens, output_tokens, cache_read_tokens,
             cache_write_tokens, cache_hit, cost_usd, input_cost_usd, cache_read_cost_usd, priced, status, is_error,
             error_type, error_category, throttled, task_id, task_name, tool_call_names, tool_calls_invalid,
             structured_requested, structured_valid, tenant)
        SELECT
            toDateTime64('{start}', 9) + toIntervalNanosecond(intDiv(number * {seconds}, {2 * calls}) * 1000000000
                + number % 1000000000) AS timestamp,
            hex(cityHash64(number, 1)) AS trace_id,
            hex(cityHash64(number, 2)) AS span_id,
            ['voice-agent', 'classifier', 'planner', 'search'][number % 4 + 1] AS service_name,
            'firsttoken' AS scope_name,
            if(number % 6 < 3, 'anthropic', 'openai') AS provider,
            'chat' AS operation,
            ['claude-haiku-4-5', 'claude-sonnet-4-5', 'claude-opus-4-1',
             'gpt-5-mini', 'gpt-5', 'gpt-4.1'][number % 6 + 1] AS model,
            model AS request_model,
            model AS response_model,
            number % 3 = 0 AS stream,
            100 + (cityHash64(number, 3) % 3000) AS duration_ms,
            if(stream, 80 + (cityHash64(number, 4) % 900), NULL) AS ttft_ms,
            500 + cityHash64(number, 5) % 6000 AS input_tokens,
            20 + cityHash64(number, 6) % 800 AS output_tokens,
            if(number % 5 < 3, 400 + cityHash64(number, 7) % 3000, 0) AS cache_read_tokens,
            if(number % 50 = 0, 1024, 0) AS cache_write_tokens,
            cache_read_tokens > 0 AS cache_hit,
            if(number % 97 = 0, NULL, (input_tokens * 1 + output_tokens * 5) / 1e6) AS cost_usd,
            if(cost_usd IS NULL, NULL, input_tokens * 0.8 / 1e6) AS input_cost_usd,
            if(cost_usd IS NULL, NULL, cache_read_tokens * 0.1 / 1e6) AS cache_read_cost_usd,
            cost_usd IS NOT NULL AS priced,
            if(number % 40 = 0, 'error', 'ok') AS status,
            number % 40 = 0 AS is_error,
            if(is_error, 'RateLimitError', '') AS error_type,
            if(is_error, 'rate_limit', '') AS error_category,
            is_error AS throttled,
            if(number % 4 = 2, hex(intDiv(number, 8)), '') AS task_id,
            if(task_id != '', 'plan_trip', '') AS task_name,
            if(number % 7 = 0, ['lookup_booking'], []) AS tool_call_names,
            if(number % 7 = 0, toUInt32(number % 70 = 0), NULL) AS tool_calls_invalid,
            number % 4 = 1 AS structured_requested,
            if(structured_requested, number % 23 != 0, NULL) AS structured_valid,
            ['acme', 'globex', 'initech'][number % 3 + 1] AS tenant
        FROM numbers({2 * calls})
        """
    )
    client.command(  # type: ignore[attr-defined]
        f"""
        INSERT INTO firsttoken.tool_calls (timestamp, trace_id, span_id, service_name, tool_name, success, source,
                                           duration_ms, task_id, task_name)
        SELECT toDateTime64('{start}', 9) + toIntervalSecond(intDiv(number * {seconds}, {2 * calls // 7})),
               hex(cityHash64(number, 8)), hex(cityHash64(number, 9)), 'planner',
               ['lookup_booking', 'search_flights', 'refund'][number % 3 + 1], number % 9 != 0, 'explicit',
               5 + cityHash64(number, 10) % 400, hex(number), 'plan_trip'
        FROM numbers({2 * calls // 7})
        """
    )
    client.command(  # type: ignore[attr-defined]
        f"""
        INSERT INTO firsttoken.tasks (timestamp, trace_id, span_id, service_name, task_id, task_name, status,
                                      completed, duration_ms, llm_calls, cost_usd)
        SELECT toDateTime64('{start}', 9) + toIntervalSecond(intDiv(number * {seconds}, {2 * calls // 8})),
               hex(cityHash64(number, 11)), hex(cityHash64(number, 12)), 'planner', hex(number),
               ['plan_trip', 'rebook', 'triage'][number % 3 + 1], if(number % 11 = 0, 'failed', 'completed'),
               number % 11 != 0, 1000 + number % 9000, 2 + number % 9, (2 + number % 9) * 0.0012
        FROM numbers({2 * calls // 8})
        """
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000, help="LLM calls in the reviewed week")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    window = weeks.iso_week(WEEK)
    work = Path(tempfile.mkdtemp(prefix="ft-export-bench-"))
    client = clickhouse_connect.get_client(dsn=f"chdb://{work / 'ch'}")
    try:
        migrate(client, database="firsttoken", ttl_days=0)
        client.database = "firsttoken"
        started = time.perf_counter()
        build(client, args.calls, window.previous.start.strftime("%Y-%m-%d %H:%M:%S"))
        client.command("OPTIMIZE TABLE firsttoken.llm_calls FINAL")
        built = time.perf_counter() - started
        counted = client.query(
            "SELECT count() FROM llm_calls WHERE timestamp >= {s:DateTime64(9)} AND timestamp < {e:DateTime64(9)}",
            parameters={"s": window.params()["start"], "e": window.params()["end"]},
        ).result_rows[0][0]
        print(f"data: {counted:,} LLM calls in {WEEK} (and as many the week before), built in {built:.1f} s")
        reader = DirectReader(client, "firsttoken")
        print(f"{'run':>4} {'query (s)':>10} {'write (s)':>10} {'total (s)':>10}  floor 10 s")
        for run in range(1, args.runs + 1):
            out = work / f"out-{run}"
            t0 = time.perf_counter()
            review = figures.compute(reader, window)
            t1 = time.perf_counter()
            export.write(review, out, export.FORMATS)
            t2 = time.perf_counter()
            verdict = "ok" if t2 - t0 <= 10 else "OVER"
            print(f"{run:>4} {t1 - t0:>10.2f} {t2 - t1:>10.2f} {t2 - t0:>10.2f}  {verdict}")
    finally:
        client.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
