"""Cost on LLM spans and task totals, checked against genai-prices' own calc_price on the span's own token counts."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from genai_prices import Usage, calc_price

import firsttoken
from firsttoken.pricing import PricingConfigError
from firsttoken.testing import FakeProviderServer
from tests.instrumentation.conftest import EXPORTER, Telemetry


def expected_total(provider: str, attrs: dict[str, Any]) -> float:
    usage = Usage(
        input_tokens=attrs["gen_ai.usage.input_tokens"],
        output_tokens=attrs.get("gen_ai.usage.output_tokens", 0),
        cache_read_tokens=attrs.get("gen_ai.usage.cache_read.input_tokens"),
        cache_write_tokens=attrs.get("gen_ai.usage.cache_creation.input_tokens"),
    )
    return float(calc_price(usage, attrs["gen_ai.response.model"], provider_id=provider).total_price)


def test_anthropic_cost_with_cache_writes_then_reads(
    anthropic_client: anthropic.Anthropic, telemetry: Telemetry, unique: str
) -> None:
    system = [
        {"type": "text", "text": unique + "You are a voice agent. " * 200, "cache_control": {"type": "ephemeral"}}
    ]
    ask = {"model": "claude-haiku-4-5", "max_tokens": 64, "system": system}
    anthropic_client.messages.create(**ask, messages=[{"role": "user", "content": "hi"}])
    anthropic_client.messages.create(**ask, messages=[{"role": "user", "content": "again"}])
    first, second = (dict(s.attributes or {}) for s in telemetry.llm_spans())
    assert first["gen_ai.usage.cache_creation.input_tokens"] > 0
    assert second["gen_ai.usage.cache_read.input_tokens"] > 0
    for attrs in (first, second):
        assert attrs["firsttoken.cost.priced"] is True
        assert attrs["firsttoken.cost.usd"] == pytest.approx(expected_total("anthropic", attrs), abs=1e-12)
        parts = sum(attrs[f"firsttoken.cost.{p}_usd"] for p in ("input", "output", "cache_read", "cache_write"))
        assert parts == pytest.approx(attrs["firsttoken.cost.usd"], abs=1e-12)
    assert first["firsttoken.cost.cache_write_usd"] > 0
    assert second["firsttoken.cost.cache_read_usd"] > 0


def test_openai_cost_with_cached_tokens(openai_client: openai.OpenAI, telemetry: Telemetry, unique: str) -> None:
    messages = [{"role": "system", "content": unique + "Classify. " * 300}, {"role": "user", "content": "x"}]
    openai_client.chat.completions.create(model="gpt-5-mini", messages=messages)
    openai_client.chat.completions.create(model="gpt-5-mini", messages=messages)
    attrs = dict(telemetry.llm_spans()[1].attributes or {})
    assert attrs["gen_ai.usage.cache_read.input_tokens"] > 0
    assert attrs["firsttoken.cost.usd"] == pytest.approx(expected_total("openai", attrs), abs=1e-12)


def test_embeddings_are_priced_on_input(openai_client: openai.OpenAI, telemetry: Telemetry) -> None:
    openai_client.embeddings.create(model="text-embedding-3-small", input=["a fairly long sentence"] * 4)
    attrs = telemetry.one()
    price = calc_price(
        Usage(input_tokens=attrs["gen_ai.usage.input_tokens"]), "text-embedding-3-small", provider_id="openai"
    )
    assert attrs["firsttoken.cost.usd"] == pytest.approx(float(price.total_price), abs=1e-12)


def test_unknown_model_is_unpriced_never_zero(
    anthropic_client: anthropic.Anthropic, telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="firsttoken.pricing"):
        for _ in range(3):
            anthropic_client.messages.create(
                model="claude-internal-experiment-7", max_tokens=8, messages=[{"role": "user", "content": "x"}]
            )
    for span in telemetry.llm_spans():
        assert span.attributes["firsttoken.cost.priced"] is False
        assert "firsttoken.cost.usd" not in span.attributes
    warnings = [r for r in caplog.records if "claude-internal-experiment-7" in r.getMessage()]
    assert len(warnings) == 1


def test_missing_usage_is_unpriced(openai_client: openai.OpenAI, telemetry: Telemetry) -> None:
    for _ in openai_client.chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "x"}], stream=True
    ):
        pass
    attrs = telemetry.one()
    assert attrs["firsttoken.usage.missing"] is True
    assert attrs["firsttoken.cost.priced"] is False
    assert "firsttoken.cost.usd" not in attrs


def test_task_cost_is_the_sum_of_its_calls(anthropic_client: anthropic.Anthropic, telemetry: Telemetry) -> None:
    with firsttoken.task("answer"):
        for question in ("a", "b", "c"):
            anthropic_client.messages.create(
                model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": question}]
            )
    calls = sum(s.attributes["firsttoken.cost.usd"] for s in telemetry.llm_spans())
    (task_span,) = [s for s in telemetry.spans() if s.name == "invoke_workflow answer"]
    assert task_span.attributes["firsttoken.task.cost.usd"] == pytest.approx(calls, abs=1e-12)
    assert task_span.attributes["firsttoken.task.cost.priced"] is True


def test_negotiated_prices_override(server: FakeProviderServer) -> None:
    firsttoken.instrument(pricing={"models": {"claude-haiku-4-5": {"input_mtok": 0.5, "output_mtok": 2.5}}})
    EXPORTER.clear()
    try:
        with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
            client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])
        (span,) = [s for s in EXPORTER.get_finished_spans() if s.instrumentation_scope.name == "firsttoken"]
        attrs = dict(span.attributes or {})
        expected = (
            Decimal(attrs["gen_ai.usage.input_tokens"]) * Decimal("0.5")
            + Decimal(attrs["gen_ai.usage.output_tokens"]) * Decimal("2.5")
        ) / Decimal(1_000_000)
        assert attrs["firsttoken.cost.usd"] == pytest.approx(float(expected), abs=1e-12)
    finally:
        firsttoken.uninstrument()
        EXPORTER.clear()


def test_bad_pricing_file_fails_instrument_naming_file_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "negotiated.json"
    bad.write_text(json.dumps({"models": {"gpt-5-mini": {"input_mtok": -1, "output_mtok": 2}}}))
    monkeypatch.setenv("FIRSTTOKEN_PRICING_FILE", str(bad))
    with pytest.raises(PricingConfigError) as caught:
        firsttoken.instrument()
    assert "negotiated.json" in str(caught.value)
    assert 'models["gpt-5-mini"].input_mtok' in str(caught.value)
    from firsttoken import _instrument

    assert not _instrument.is_instrumented()
