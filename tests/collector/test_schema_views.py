"""The materialized views from otel_traces: llm_calls (tokens, cost, peers), tool_calls, tasks, rollups."""

from __future__ import annotations

import math
import time
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from firsttoken_collector.schema import migrate

from .test_schema_support import DB, insert_spans, query, span


@pytest.fixture
def db(ch_client: Any) -> Any:
    migrate(ch_client, database=DB, ttl_days=30)
    return ch_client


def _call(client: Any, span_id_filter: str = "") -> dict[str, Any]:
    rows = query(client, f"SELECT * FROM {DB}.llm_calls {span_id_filter}")
    assert len(rows) == 1, rows
    return rows[0]


def _expected(model: str, provider: str, **usage: int) -> float:
    return float(calc_price(Usage(**usage), model_ref=model, provider_id=provider).total_price)


def test_our_span_with_cost_tools_structured_output_and_tags(db: Any) -> None:
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "claude-haiku-4-5",
                    "gen_ai.response.model": "claude-haiku-4-5-20251001",
                    "gen_ai.request.stream": "true",
                    "gen_ai.response.time_to_first_chunk": "0.25",
                    "gen_ai.response.finish_reasons": '["tool_use"]',
                    "gen_ai.usage.input_tokens": "1200",
                    "gen_ai.usage.output_tokens": "80",
                    "gen_ai.usage.cache_read.input_tokens": "1000",
                    "gen_ai.usage.cache_creation.input_tokens": "0",
                    "firsttoken.cache.hit": "true",
                    "firsttoken.cost.usd": "0.0123",
                    "firsttoken.cost.input_usd": "0.0002",
                    "firsttoken.cost.cache_read_usd": "0.0001",
                    "firsttoken.cost.cache_write_usd": "0",
                    "firsttoken.cost.output_usd": "0.012",
                    "firsttoken.cost.priced": "true",
                    "firsttoken.tool_calls.names": '["search","lookup"]',
                    "firsttoken.tool_calls.invalid": "1",
                    "firsttoken.structured_output.requested": "true",
                    "firsttoken.structured_output.valid": "false",
                    "firsttoken.structured_output.error": "invalid_json",
                    "firsttoken.task.id": "task-1",
                    "firsttoken.task.name": "triage",
                    "firsttoken.retries": "2",
                    "firsttoken.throttled": "true",
                    "user.id": "u-7",
                    "firsttoken.tenant": "acme",
                    "firsttoken.feature": "inbox",
                }
            )
        ],
    )
    row = _call(db)
    assert (row["provider"], row["operation"], row["model"]) == ("anthropic", "chat", "claude-haiku-4-5")
    assert row["response_model"] == "claude-haiku-4-5-20251001"
    assert row["stream"] is True
    assert row["ttft_ms"] == pytest.approx(250.0)
    assert row["duration_ms"] == 1500.0
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
        1200,
        80,
        1000,
        0,
    )
    assert row["cache_hit"] is True
    assert row["finish_reason"] == "tool_use"
    assert row["cost_usd"] == pytest.approx(0.0123)
    assert row["cost_source"] == "span"
    assert row["priced"] is True
    assert row["output_cost_usd"] == pytest.approx(0.012)
    assert row["tool_call_names"] == ["search", "lookup"]
    assert row["tool_calls_count"] == 2
    assert row["tool_calls_invalid"] == 1
    assert row["structured_requested"] is True
    assert row["structured_valid"] is False
    assert row["structured_error"] == "invalid_json"
    assert (row["task_id"], row["task_name"], row["user_id"], row["tenant"], row["feature"]) == (
        "task-1",
        "triage",
        "u-7",
        "acme",
        "inbox",
    )
    assert row["retries"] == 2
    assert row["throttled"] is True
    assert row["scope_name"] == "firsttoken"
    assert row["reasoning_tokens"] is None
    assert row["status"] == "unset"
    assert row["is_error"] is False


def test_anthropic_sdk_span_cost_is_computed_from_prices(db: Any) -> None:
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "claude-haiku-4-5",
                    "gen_ai.response.model": "claude-haiku-4-5-20251001",
                    "gen_ai.usage.input_tokens": "10000",
                    "gen_ai.usage.cache_read.input_tokens": "8000",
                    "gen_ai.usage.cache_write.input_tokens": "1000",
                    "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": "500",
                    "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": "500",
                    "gen_ai.usage.output_tokens": "500",
                    "anthropic.message.stop_reason": "end_turn",
                },
                name="anthropic.messages.create",
                scope="com.anthropic.sdk.python",
            )
        ],
    )
    row = _call(db)
    expected = _expected(
        "claude-haiku-4-5-20251001",
        "anthropic",
        input_tokens=10000,
        cache_read_tokens=8000,
        cache_write_tokens=1000,
        cache_write_1h_tokens=500,
        output_tokens=500,
    )
    assert expected == pytest.approx(0.005925)  # pricing.md's worked check
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert row["cost_source"] == "computed"
    assert row["priced"] is True
    assert row["price_model_id"] == "claude-haiku-4-5"
    parts = row["input_cost_usd"] + row["cache_read_cost_usd"] + row["cache_write_cost_usd"] + row["output_cost_usd"]
    assert parts == pytest.approx(row["cost_usd"])
    assert row["finish_reason"] == "end_turn"
    assert row["cache_hit"] is True


def test_openllmetry_span_with_deprecated_names(db: Any) -> None:
    # OpenLLMetry's Anthropic instrumentation: gen_ai.system, prompt/completion tokens (input already includes
    # cache), underscore cache names, SpanKind in the exporter's old spelling.
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.system": "Anthropic",
                    "llm.request.type": "chat",
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
                    "gen_ai.usage.prompt_tokens": "3000",
                    "gen_ai.usage.completion_tokens": "200",
                    "gen_ai.usage.cache_read_input_tokens": "2000",
                    "gen_ai.usage.cache_creation_input_tokens": "500",
                    "llm.usage.total_tokens": "3200",
                },
                name="anthropic.chat",
                kind="SPAN_KIND_CLIENT",
                scope="opentelemetry.instrumentation.anthropic",
                status="STATUS_CODE_OK",
            )
        ],
    )
    row = _call(db)
    assert row["provider"] == "anthropic"
    assert row["operation"] == "chat"
    assert row["status"] == "ok"
    assert (row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
        3000,
        200,
        2000,
        500,
    )
    expected = _expected(
        "claude-sonnet-4-5-20250929",
        "anthropic",
        input_tokens=3000,
        cache_read_tokens=2000,
        cache_write_tokens=500,
        output_tokens=200,
    )
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert row["cost_source"] == "computed"


def test_cache_exclusive_input_is_made_total(db: Any) -> None:
    # A reporter that passes Anthropic's raw input_tokens (cache excluded): input < cache reads + writes.
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.system": "anthropic",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "claude-haiku-4-5",
                    "gen_ai.usage.input_tokens": "12",
                    "gen_ai.usage.output_tokens": "40",
                    "gen_ai.usage.cache_read_input_tokens": "5000",
                }
            )
        ],
    )
    row = _call(db)
    assert row["input_tokens"] == 5012
    expected = _expected("claude-haiku-4-5", "anthropic", input_tokens=5012, cache_read_tokens=5000, output_tokens=40)
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)


def test_official_semconv_openai_span(db: Any) -> None:
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.provider.name": "openai",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-5-mini",
                    "gen_ai.response.model": "gpt-5-mini-2025-08-07",
                    "gen_ai.usage.input_tokens": "2000",
                    "gen_ai.usage.output_tokens": "300",
                    "gen_ai.usage.cache_read.input_tokens": "1024",
                    "gen_ai.usage.reasoning.output_tokens": "128",
                    "gen_ai.response.finish_reasons": '["stop"]',
                },
                name="chat gpt-5-mini",
                scope="opentelemetry.instrumentation.openai_v2",
            )
        ],
    )
    row = _call(db)
    expected = _expected(
        "gpt-5-mini-2025-08-07", "openai", input_tokens=2000, cache_read_tokens=1024, output_tokens=300
    )
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert row["reasoning_tokens"] == 128
    assert row["finish_reason"] == "stop"
    assert row["cache_hit"] is True


def test_openlit_span_cost_is_taken_from_the_span(db: Any) -> None:
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.system": "openai",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": "100",
                    "gen_ai.usage.output_tokens": "50",
                    "gen_ai.usage.cost": "0.000045",
                    "gen_ai.server.time_to_first_token": "0.4",
                },
                name="chat gpt-4o-mini",
                scope="openlit.otel.tracing",
            )
        ],
    )
    row = _call(db)
    assert row["cost_usd"] == pytest.approx(0.000045)
    assert row["cost_source"] == "span"
    assert row["input_cost_usd"] is None
    assert row["ttft_ms"] == pytest.approx(400.0)


def test_openlit_zero_cost_falls_back_to_prices(db: Any) -> None:
    # OpenLIT writes 0 for models missing from its own price list: that is unknown, not free.
    attributes = {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.usage.input_tokens": "1000",
        "gen_ai.usage.output_tokens": "100",
        "gen_ai.usage.cost": "0",
    }
    insert_spans(db, [span(attributes, name="chat gpt-4.1", scope="openlit.otel.tracing")])
    row = _call(db)
    expected = _expected("gpt-4.1", "openai", input_tokens=1000, output_tokens=100)
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-9)
    assert row["cost_source"] == "computed"


def test_unpriced_model_and_unknown_usage_are_null_not_zero(db: Any) -> None:
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.provider.name": "openai",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "my-private-finetune",
                    "gen_ai.usage.input_tokens": "100",
                    "gen_ai.usage.output_tokens": "10",
                    "firsttoken.cost.priced": "false",
                },
                name="chat my-private-finetune",
            ),
            span(
                {
                    "gen_ai.provider.name": "openai",
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.request.stream": "true",
                    "firsttoken.usage.missing": "true",
                },
                name="chat gpt-4o",
            ),
        ],
    )
    rows = {r["model"]: r for r in query(db, f"SELECT * FROM {DB}.llm_calls")}
    unpriced = rows["my-private-finetune"]
    assert unpriced["cost_usd"] is None
    assert unpriced["priced"] is False
    assert unpriced["cost_source"] is None
    assert unpriced["input_tokens"] == 100
    no_usage = rows["gpt-4o"]
    assert no_usage["input_tokens"] is None
    assert no_usage["output_tokens"] is None
    assert no_usage["cache_read_tokens"] is None
    assert no_usage["cache_hit"] is None
    assert no_usage["cost_usd"] is None
    assert no_usage["priced"] is False
    assert no_usage["usage_missing"] is True


def test_non_llm_spans_are_not_calls(db: Any) -> None:
    insert_spans(
        db,
        [
            span({"http.request.method": "POST"}, name="POST", scope="opentelemetry.instrumentation.httpx"),
            span({"gen_ai.operation.name": "chat"}, kind="Internal"),
            span({"gen_ai.operation.name": "count_tokens", "gen_ai.request.model": "claude-haiku-4-5"}),
        ],
    )
    assert query(db, f"SELECT count() AS n FROM {DB}.llm_calls")[0]["n"] == 0


def test_error_status_spellings_and_throttle(db: Any) -> None:
    base = {"gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    insert_spans(
        db,
        [
            span({**base, "error.type": "RateLimitError", "http.response.status_code": "429"}, status="Error"),
            span({**base, "error.type": "OverloadedError"}, status="STATUS_CODE_ERROR"),
            span({**base, "error.type": "APIConnectionError"}, status="Error"),
        ],
    )
    rows = query(db, f"SELECT error_type, is_error, error_category, throttled FROM {DB}.llm_calls ORDER BY error_type")
    assert [(r["error_type"], r["is_error"], r["error_category"], r["throttled"]) for r in rows] == [
        ("APIConnectionError", True, "connection", False),
        ("OverloadedError", True, "overloaded", True),
        ("RateLimitError", True, "rate_limit", True),
    ]


def test_tool_calls_from_our_spans_and_peers(db: Any) -> None:
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "search",
                    "gen_ai.tool.call.id": "toolu_1",
                    "firsttoken.tool.success": "false",
                    "firsttoken.tool.source": "inferred",
                    "firsttoken.tool.failure_reason": "is_error",
                    "error.type": "ToolError",
                    "firsttoken.task.id": "t1",
                    "firsttoken.task.name": "triage",
                },
                name="execute_tool search",
                kind="Internal",
            ),
            span({"gen_ai.tool.name": "lookup"}, name="execute_tool lookup", kind="Internal", status="Ok"),
            span(
                {"traceloop.span.kind": "tool", "traceloop.entity.name": "fetch"},
                name="fetch.tool",
                kind="SPAN_KIND_INTERNAL",
                status="STATUS_CODE_ERROR",
            ),
        ],
    )
    rows = {r["tool_name"]: r for r in query(db, f"SELECT * FROM {DB}.tool_calls")}
    assert set(rows) == {"search", "lookup", "fetch"}
    assert rows["search"]["success"] is False
    assert rows["search"]["source"] == "inferred"
    assert rows["search"]["tool_call_id"] == "toolu_1"
    assert rows["search"]["task_id"] == "t1"
    assert rows["search"]["error_type"] == "ToolError"
    assert rows["lookup"]["success"] is True
    assert rows["fetch"]["success"] is False


def test_tasks(db: Any) -> None:
    insert_spans(
        db,
        [
            span(
                {
                    "gen_ai.operation.name": "invoke_workflow",
                    "firsttoken.task.id": "t1",
                    "firsttoken.task.name": "triage",
                    "firsttoken.task.status": "failed",
                    "firsttoken.task.failure_reason": "ValueError",
                    "firsttoken.task.llm_calls": "3",
                    "firsttoken.task.usage.input_tokens": "900",
                    "firsttoken.task.usage.output_tokens": "90",
                    "firsttoken.task.tool_calls": "2",
                    "firsttoken.task.tool_failures": "1",
                    "firsttoken.task.cost.usd": "0.02",
                    "firsttoken.task.cost.priced": "false",
                    "firsttoken.task.unpriced_calls": "1",
                    "gen_ai.agent.name": "planner",
                    "queue": "billing",
                },
                name="invoke_workflow triage",
                kind="Internal",
                status="Error",
            ),
            span(
                {
                    "gen_ai.operation.name": "invoke_workflow",
                    "firsttoken.task.id": "t2",
                    "firsttoken.task.status": "completed",
                },
                name="invoke_workflow summarize",
                kind="Internal",
            ),
        ],
    )
    rows = {r["task_id"]: r for r in query(db, f"SELECT * FROM {DB}.tasks")}
    failed = rows["t1"]
    assert failed["status"] == "failed"
    assert failed["completed"] is False
    assert failed["failure_reason"] == "ValueError"
    assert (failed["llm_calls"], failed["input_tokens"], failed["tool_failures"]) == (3, 900, 1)
    assert failed["cost_usd"] == pytest.approx(0.02)
    assert failed["cost_priced"] is False
    assert failed["agent_name"] == "planner"
    assert failed["attributes"]["queue"] == "billing"
    done = rows["t2"]
    assert done["task_name"] == "summarize"
    assert done["completed"] is True
    assert done["llm_calls"] is None
    assert done["cost_usd"] is None


def test_rollups_agree_with_llm_calls(db: Any) -> None:
    models = ["claude-haiku-4-5", "gpt-5-mini"]
    rows = []
    for i in range(40):
        model = models[i % 2]
        attributes = {
            "gen_ai.provider.name": "anthropic" if model.startswith("claude") else "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": str(100 + i),
            "gen_ai.usage.output_tokens": str(10 + i),
            "gen_ai.response.time_to_first_chunk": str(0.1 + i / 100),
        }
        if i % 5 == 0:
            attributes["gen_ai.usage.cache_read.input_tokens"] = "50"
        rows.append(span(attributes, status="Error" if i % 7 == 0 else "Unset", duration_ns=(i + 1) * 10_000_000))
    # Two inserts: rollup rows of the same key stay apart until merged; readers must GROUP BY.
    insert_spans(db, rows[:25])
    insert_spans(db, rows[25:])
    rolled = query(
        db,
        f"SELECT model, sum(calls) AS calls, sum(errors) AS errors, sum(input_tokens) AS input_tokens, "
        f"sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost, sum(cache_hits) AS hits, "
        f"sum(priced_calls) AS priced, quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(ttft_ms_quantiles)[1] AS ttft_p50 "
        f"FROM {DB}.llm_calls_1m GROUP BY model ORDER BY model",
    )
    direct = query(
        db,
        f"SELECT model, count() AS calls, countIf(is_error) AS errors, sum(input_tokens) AS input_tokens, "
        f"sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost, countIf(cache_hit) AS hits, "
        f"countIf(priced) AS priced, quantileTDigest(0.5)(ttft_ms) AS ttft_p50 "
        f"FROM {DB}.llm_calls GROUP BY model ORDER BY model",
    )
    assert len(rolled) == 2
    assert [r["calls"] for r in rolled] == [20, 20]
    for got, want in zip(rolled, direct, strict=True):
        for key in ("model", "calls", "errors", "input_tokens", "output_tokens", "hits", "priced"):
            assert got[key] == want[key], key
        assert got["cost"] == pytest.approx(want["cost"])
        assert want["cost"] > 0
        assert math.isclose(got["ttft_p50"], want["ttft_p50"], rel_tol=0.05)


def test_computed_cost_matches_genai_prices_for_many_models(db: Any) -> None:
    cases = [
        ("anthropic", "claude-opus-4-1-20250805", 4000, 1000, 500, 300),
        ("anthropic", "claude-3-5-haiku-20241022", 2000, 0, 0, 100),
        ("openai", "gpt-4o-2024-08-06", 5000, 2048, 0, 700),
        ("openai", "o4-mini", 800, 0, 0, 1200),
        ("openai", "gpt-4.1-nano", 10, 0, 0, 5),
    ]
    rows = []
    for provider, model, total, read, write, output in cases:
        rows.append(
            span(
                {
                    "gen_ai.provider.name": provider,
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": model,
                    "gen_ai.usage.input_tokens": str(total),
                    "gen_ai.usage.output_tokens": str(output),
                    "gen_ai.usage.cache_read.input_tokens": str(read),
                    "gen_ai.usage.cache_creation.input_tokens": str(write),
                },
                name=f"chat {model}",
            )
        )
    insert_spans(db, rows)
    got = {r["model"]: r["cost_usd"] for r in query(db, f"SELECT model, cost_usd FROM {DB}.llm_calls")}
    for provider, model, total, read, write, output in cases:
        usage = Usage(input_tokens=total, cache_read_tokens=read, cache_write_tokens=write, output_tokens=output)
        want = calc_price(usage, model_ref=model, provider_id=provider).total_price
        assert Decimal(str(got[model])).quantize(Decimal("1e-12")) == want.quantize(Decimal("1e-12")), model


def test_price_join_of_0010_gives_the_rows_of_0005(db: Any) -> None:
    """Migration 0010 rewrote how llm_calls_mv finds a price (clauses per row, prices joined by the chosen rule's key).
    On spans of every anthropic/openai model genai-prices knows (plain, dated, over a long-context tier, with cache
    reads and both write durations), unknown models and unknown providers, its rows equal 0005's query's."""
    from firsttoken_collector.schema.migrate import load_migrations
    from firsttoken_collector.schema.render import SchemaOptions, render_template

    models = db.query(
        f"SELECT DISTINCT provider_id, model_id FROM {DB}.prices WHERE provider_id IN ('anthropic', 'openai')"
    ).result_rows
    assert len(models) > 50
    rows = []
    for i, (provider, model) in enumerate([*sorted(models), ("anthropic", "claude-nonexistent-9"), ("acme", "m-1")]):
        for variant, model_id in enumerate((model, f"{model}-20250101")):
            rows.append(
                span(
                    {
                        "gen_ai.system": provider,
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": model_id,
                        "gen_ai.usage.input_tokens": str(300_000 if i % 7 == 0 else 1_000 + i),
                        "gen_ai.usage.output_tokens": str(50 + variant),
                        "gen_ai.usage.cache_read.input_tokens": str(200 if i % 3 == 0 else 0),
                        "gen_ai.usage.cache_creation.input_tokens": str(100 if i % 5 == 0 else 0),
                        "gen_ai.usage.cache_creation.ephemeral_1h_input_tokens": str(40 if i % 10 == 0 else 0),
                    },
                    name=f"chat {model_id}",
                    scope="opentelemetry.instrumentation.anthropic",
                )
            )
    insert_spans(db, rows)
    (v5,) = [m for m in load_migrations() if m.version == 5]
    mv = render_template(v5.template, SchemaOptions(database=DB))
    old_query = mv[mv.index("AS SELECT", mv.index("CREATE MATERIALIZED VIEW")) + 3 :].strip().rstrip(";")
    old = db.query(f"SELECT * FROM ({old_query}) ORDER BY span_id").result_rows
    new = db.query(f"SELECT * FROM {DB}.llm_calls ORDER BY span_id").result_rows
    assert len(new) == len(rows)
    assert sum(1 for row in query(db, f"SELECT priced FROM {DB}.llm_calls") if row["priced"]) > len(rows) // 2
    assert new == old


_COST = {
    "firsttoken.cost.usd": "0.0125",
    "firsttoken.cost.input_usd": "0.01",
    "firsttoken.cost.output_usd": "0.002",
    "firsttoken.cost.cache_read_usd": "0.0004",
    "firsttoken.cost.cache_write_usd": "0.0001",
    "firsttoken.cost.priced": "true",
}
_MODELS = [
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5",
    "us.anthropic.claude-sonnet-4-5-v1:0",
    "anthropic/claude-opus-4-1",
    "gpt-5-mini",
    "gpt-5-mini-2025-08-07",
    "gpt-4o",
    "text-embedding-3-small",
    "o3-mini",
    "claude-nonexistent-9",
    "m-1",
]
# Each group: the keys it may set (one at a time, or none) and the values each may take; "N_IN" etc. are token counts.
_CHOICES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (
        ("gen_ai.provider.name", "gen_ai.system"),
        ("anthropic", "openai", "Anthropic", "aws.bedrock", "azure.ai.openai", "acme"),
    ),
    (("gen_ai.operation.name",), ("chat", "embeddings", "text_completion", "responses", "execute_tool")),
    (("llm.request.type",), ("chat", "embedding", "completion", "rerank")),
    (("gen_ai.request.stream", "llm.is_streaming"), ("true", "True", "false", "False")),
    (("firsttoken.stream.completed",), ("true", "false")),
    (("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"), ("0.125", "0.5", "x")),
    (
        ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens"),
        ("0", "12", "1500", "250000"),
    ),
    (
        ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens"),
        ("0", "7", "900"),
    ),
    (("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"), ("0", "100", "2000")),
    (
        (
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_write.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
        ),
        ("0", "100", "2000", "not a number"),
    ),
    (
        (
            "firsttoken.usage.cache_creation.ephemeral_1h_input_tokens",
            "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
        ),
        ("60", "5000"),
    ),
    (("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens"), ("4", "33")),
    (("firsttoken.cache.hit",), ("true", "false")),
    (("firsttoken.usage.missing",), ("true",)),
    (("firsttoken.cost.priced", "gen_ai.usage.cost"), ("false", "0.75", "0")),
    (("gen_ai.response.finish_reasons",), ('["stop","length"]', "end_turn", '["refusal"]')),
    (("anthropic.message.stop_reason", "llm.response.finish_reason", "llm.response.stop_reason"), ("tool_use", "stop")),
    (("error.type",), ("RateLimitError", "OverloadedError", "APITimeoutError", "APIConnectionError", "ValueError")),
    (("http.response.status_code",), ("429", "529", "503", "404")),
    (("firsttoken.error.category", "firsttoken.throttled", "firsttoken.retries"), ("timeout", "true", "3")),
    (("firsttoken.task.id", "firsttoken.task.name"), ("t-1", "triage")),
    (("firsttoken.tool_calls.names",), ('["search","lookup"]', "[]")),
    (("firsttoken.tool_calls.count", "firsttoken.tool_calls.invalid"), ("1", "2")),
    (("firsttoken.structured_output.requested", "firsttoken.structured_output.valid"), ("true", "false")),
    (("firsttoken.structured_output.error",), ("schema_violation",)),
    (("firsttoken.refusal",), ("true", "false")),
    (("user.id", "firsttoken.tenant", "firsttoken.feature", "server.address", "gen_ai.response.id"), ("a", "b")),
]


def _varied_llm_spans(count: int, seed: int) -> list[list[Any]]:
    """Spans mixing every spelling and case llm_calls_mv reads: ours, OpenLLMetry's, OpenLIT's, the Anthropic SDK's
    and the GenAI instrumentations' attributes; priced and unpriced; errors; streams; tools; structured output."""
    import random

    rng = random.Random(seed)
    now = time.time_ns()
    rows = []
    for _ in range(count):
        attributes: dict[str, str] = dict(_COST) if rng.random() < 0.4 else {}
        for key in ("gen_ai.request.model", "gen_ai.response.model"):
            if rng.random() < 0.85:
                attributes[key] = rng.choice(_MODELS)
        for keys, values in _CHOICES:
            if rng.random() < 0.6:
                attributes[rng.choice(keys)] = rng.choice(values)
        rows.append(
            span(
                attributes,
                name=rng.choice(["chat m", "anthropic.messages.create", "openai.chat", "embeddings m"]),
                kind=rng.choice(["Client", "SPAN_KIND_CLIENT", "Client", "Internal"]),
                status=rng.choice(["Unset", "Ok", "Error", "STATUS_CODE_ERROR", "STATUS_CODE_OK"]),
                duration_ns=rng.choice([0, 1_234_567, 2_000_000_000]),
                timestamp_ns=now - rng.randrange(10**14),
            )
        )
    return rows


def test_llm_calls_mv_of_0012_gives_the_rows_of_0010(db: Any) -> None:
    """Migration 0011 split llm_calls_mv's query into layers so ClickHouse plans it faster (it is planned again for
    every inserted block); 0012 looks attributes up in the stored map instead of a cast copy. On spans mixing every
    attribute spelling and case the view reads, its rows equal 0010's."""
    from firsttoken_collector.schema.migrate import load_migrations
    from firsttoken_collector.schema.render import SchemaOptions

    rows = _varied_llm_spans(1_500, seed=11)
    insert_spans(db, rows)
    (v10,) = [m for m in load_migrations() if m.version == 10]
    (statement,) = v10.statements(SchemaOptions(database=DB))
    old_query = statement[statement.index("MODIFY QUERY") + len("MODIFY QUERY") :].strip().rstrip(";")
    old = db.query(f"SELECT * FROM ({old_query}) ORDER BY span_id").result_rows
    new = db.query(f"SELECT * EXCEPT trace_key FROM {DB}.llm_calls ORDER BY span_id").result_rows
    assert len(new) > len(rows) // 2  # most of the mix are LLM calls ...
    assert len(new) < len(rows)  # ... and some are not (kind, operation)
    mix = query(
        db, f"SELECT countIf(cost_source = 'computed') AS computed, countIf(is_error) AS errors FROM {DB}.llm_calls"
    )
    assert mix[0]["computed"] > 25
    assert mix[0]["errors"] > 25
    assert new == old
