"""Exactly-once replays: what ClickHouse (chDB 26.9) does with a replayed block and its insert_deduplication_token.

Findings these tests pin down (the collector's crash recovery relies on them):
- replaying a block with the same token changes no table: otel_traces drops it, and every materialized view still
  runs but each target drops its block (its token is derived from the source token and the view);
- if otel_traces committed the block but a view's target did not (simulated by detaching the view), a replay with
  the same token fills that target, and the chained rollup behind it, without duplicating anything else;
- a target emptied by DELETE is NOT refilled by a replay (its deduplication log still holds the block); TRUNCATE
  clears that log, so after TRUNCATE a replay refills it.
"""

from __future__ import annotations

from typing import Any

import pytest

from firsttoken_collector.schema import migrate

from .test_schema_support import DB, insert_spans, span

TABLES = ("otel_traces", "otel_traces_trace_id_ts", "llm_calls", "tool_calls", "tasks")


def _counts(client: Any) -> dict[str, int]:
    counts = {t: int(client.query(f"SELECT count() FROM {DB}.{t}").result_rows[0][0]) for t in TABLES}
    counts["llm_calls_1m"] = int(client.query(f"SELECT sum(calls) FROM {DB}.llm_calls_1m").result_rows[0][0])
    return counts


def _batch() -> list[list[Any]]:
    return [
        span(
            {
                "gen_ai.provider.name": "openai",
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": "10",
                "gen_ai.usage.output_tokens": "5",
            }
        ),
        span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "x"}, kind="Internal"),
        span({"gen_ai.operation.name": "invoke_workflow", "firsttoken.task.id": "t"}, kind="Internal"),
    ]


def _token(value: str) -> dict[str, Any]:
    return {"insert_deduplication_token": value, "deduplicate_blocks_in_dependent_materialized_views": 1}


@pytest.fixture
def db(ch_client: Any) -> Any:
    migrate(ch_client, database=DB)
    return ch_client


ONCE = {
    "otel_traces": 3,
    "otel_traces_trace_id_ts": 3,
    "llm_calls": 1,
    "tool_calls": 1,
    "tasks": 1,
    "llm_calls_1m": 1,
}


def test_replay_with_the_same_token_changes_nothing(db: Any) -> None:
    rows = _batch()
    insert_spans(db, rows, _token("batch-1"))
    assert _counts(db) == ONCE
    insert_spans(db, rows, _token("batch-1"))
    assert _counts(db) == ONCE


def test_a_new_token_is_a_new_block(db: Any) -> None:
    rows = _batch()
    insert_spans(db, rows, _token("batch-1"))
    insert_spans(db, rows, _token("batch-2"))
    assert _counts(db) == {table: 2 * n for table, n in ONCE.items()}


def test_replay_fills_a_view_target_that_missed_the_block(db: Any) -> None:
    rows = _batch()
    db.command(f"DETACH TABLE {DB}.llm_calls_mv")
    insert_spans(db, rows, _token("batch-1"))
    assert _counts(db) == {**ONCE, "llm_calls": 0, "llm_calls_1m": 0}
    db.command(f"ATTACH TABLE {DB}.llm_calls_mv")
    insert_spans(db, rows, _token("batch-1"))
    assert _counts(db) == ONCE
    insert_spans(db, rows, _token("batch-1"))
    assert _counts(db) == ONCE


def test_truncated_target_is_refilled_but_deleted_rows_are_not(db: Any) -> None:
    rows = _batch()
    insert_spans(db, rows, _token("batch-1"))
    db.command(f"TRUNCATE TABLE {DB}.llm_calls")
    db.command(f"DELETE FROM {DB}.tool_calls WHERE 1")
    insert_spans(db, rows, _token("batch-1"))
    assert _counts(db) == {**ONCE, "tool_calls": 0}
