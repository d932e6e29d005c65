"""Worked examples from the pricing reference, and the pricing context (batch, tiers, region, speed), to 1e-12."""

from __future__ import annotations

import math
import threading

import pytest

from firsttoken.pricing import DEFAULT, Cost, Pricer, PricingContext, Tokens
from firsttoken.pricing.catalog import PROVIDER_IDS

from ._reference import reference, reference_total
from .conftest import NOW

TOL = 1e-12

HAIKU_CACHED = Tokens(
    input_tokens=10_000,
    output_tokens=500,
    cache_read_tokens=8_000,
    cache_write_tokens=1_000,
    cache_write_5m_tokens=1_000,
    cache_write_1h_tokens=0,
)
HAIKU_CACHED_1H = HAIKU_CACHED._replace(cache_write_5m_tokens=500, cache_write_1h_tokens=500)
GPT5_MINI_CACHED = Tokens(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=6_000, reasoning_tokens=400)


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=0, abs_tol=TOL)


def priced(pricer: Pricer, provider: str, model: str, tokens: Tokens, context: PricingContext = DEFAULT) -> Cost:
    cost = pricer.price(provider, model, tokens, context)
    assert cost is not None, f"{provider}/{model} should be priced"
    parts = cost.input_usd + cost.output_usd + cost.cache_read_usd + cost.cache_write_usd
    assert close(parts, cost.total_usd), cost
    return cost


# --- the reference's worked examples -------------------------------------------------------------------------------


def test_haiku_45_with_cache_reads_and_5m_writes(pricer: Pricer) -> None:
    cost = priced(pricer, "anthropic", "claude-haiku-4-5-20251001", HAIKU_CACHED)
    assert close(cost.total_usd, 0.00555)
    assert close(cost.input_usd + cost.cache_read_usd + cost.cache_write_usd, 0.00305)  # input incl. cache
    assert close(cost.input_usd, 0.001)  # 1,000 uncached x $1/M
    assert close(cost.cache_read_usd, 0.0008)  # 8,000 x $0.10/M
    assert close(cost.cache_write_usd, 0.00125)  # 1,000 x $1.25/M
    assert close(cost.output_usd, 0.0025)


def test_haiku_45_with_half_the_writes_at_1h(pricer: Pricer) -> None:
    cost = priced(pricer, "anthropic", "claude-haiku-4-5-20251001", HAIKU_CACHED_1H)
    assert close(cost.total_usd, 0.005925)
    assert close(cost.cache_write_usd, 500 * 1.25e-6 + 500 * 2e-6)
    calc = reference("anthropic", "claude-haiku-4-5-20251001", HAIKU_CACHED_1H)
    assert close(float(calc.total_price), 0.005925)
    assert close(cost.total_usd, float(calc.total_price))
    assert close(cost.input_usd + cost.cache_read_usd + cost.cache_write_usd, float(calc.input_price))


def test_unsplit_writes_are_priced_at_the_5m_rate(pricer: Pricer) -> None:
    tokens = HAIKU_CACHED._replace(cache_write_5m_tokens=None, cache_write_1h_tokens=None)
    assert close(priced(pricer, "anthropic", "claude-haiku-4-5", tokens).total_usd, 0.00555)


def test_writes_default_to_the_sum_of_their_ttl_split(pricer: Pricer) -> None:
    tokens = HAIKU_CACHED_1H._replace(cache_write_tokens=None)
    assert close(priced(pricer, "anthropic", "claude-haiku-4-5", tokens).total_usd, 0.005925)


def test_gpt5_mini_with_cached_input(pricer: Pricer) -> None:
    cost = priced(pricer, "openai", "gpt-5-mini", GPT5_MINI_CACHED)
    assert close(cost.input_usd, 4_000 * 0.25e-6)
    assert close(cost.cache_read_usd, 6_000 * 0.025e-6)
    assert close(cost.output_usd, 1_000 * 2e-6)  # reasoning tokens are inside output already
    assert close(cost.total_usd, 0.00315)
    assert close(cost.total_usd, reference_total("openai", "gpt-5-mini", GPT5_MINI_CACHED))


@pytest.mark.parametrize(
    ("provider", "model", "alias"),
    [
        ("anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("openai", "gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("openai", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("openai", "o4-mini-2025-04-16", "o4-mini"),
    ],
)
def test_dated_ids_resolve_to_their_model(pricer: Pricer, provider: str, model: str, alias: str) -> None:
    tokens = Tokens(input_tokens=3_000, output_tokens=700, cache_read_tokens=1_000)
    assert priced(pricer, provider, model, tokens) == priced(pricer, provider, alias, tokens)


@pytest.mark.parametrize(
    ("model", "prices"),  # input, cached input, output per million, from the pricing reference
    [
        ("gpt-5", (1.25, 0.125, 10)),
        ("gpt-5-nano", (0.05, 0.005, 0.40)),
        ("gpt-4.1", (2, 0.50, 8)),
        ("gpt-4o", (2.50, 1.25, 10)),
        ("gpt-4o-mini", (0.15, 0.075, 0.60)),
        ("o4-mini", (1.10, 0.275, 4.40)),
    ],
)
def test_openai_reference_prices(pricer: Pricer, model: str, prices: tuple[float, float, float]) -> None:
    cost = priced(
        pricer, "openai", model, Tokens(input_tokens=3_000_000, output_tokens=1_000_000, cache_read_tokens=1_000_000)
    )
    assert close(cost.input_usd, 2 * prices[0])
    assert close(cost.cache_read_usd, prices[1])
    assert close(cost.output_usd, prices[2])


@pytest.mark.parametrize(
    ("model", "prices"),  # input, 5m write, 1h write, read, output per million, from the pricing reference
    [
        ("claude-sonnet-4-5", (3, 3.75, 6, 0.30, 15)),
        ("claude-sonnet-4-6", (3, 3.75, 6, 0.30, 15)),
        ("claude-opus-4-5", (5, 6.25, 10, 0.50, 25)),
        ("claude-opus-4-8", (5, 6.25, 10, 0.50, 25)),
        ("claude-opus-4-1", (15, 18.75, 30, 1.50, 75)),
        ("claude-3-5-haiku-20241022", (0.80, 1, 1.60, 0.08, 4)),
    ],
)
def test_anthropic_reference_prices(pricer: Pricer, model: str, prices: tuple[float, ...]) -> None:
    each = 40_000  # uncached, read, 5m write, 1h write: 160K total input, under every long-context threshold
    tokens = Tokens(
        input_tokens=4 * each,
        cache_read_tokens=each,
        cache_write_tokens=2 * each,
        cache_write_5m_tokens=each,
        cache_write_1h_tokens=each,
        output_tokens=each,
    )
    cost = priced(pricer, "anthropic", model, tokens)
    input_price, write_5m, write_1h, read, output = (price * each / 1e6 for price in prices)
    assert close(cost.input_usd, input_price)
    assert close(cost.cache_write_usd, write_5m + write_1h)
    assert close(cost.cache_read_usd, read)
    assert close(cost.output_usd, output)


# --- long-context tiers (the cliff) --------------------------------------------------------------------------------


def sonnet_call(total_input: int) -> Tokens:
    return Tokens(
        input_tokens=total_input,
        cache_read_tokens=150_000,
        cache_write_tokens=10_000,
        cache_write_5m_tokens=6_000,
        cache_write_1h_tokens=4_000,
        output_tokens=2_000,
    )


def test_sonnet_45_over_200k_input_reprices_every_token(pricer: Pricer) -> None:
    cost = priced(pricer, "anthropic", "claude-sonnet-4-5-20250929", sonnet_call(250_000))
    # over 200K total input: 6 / 7.50 / 12 / 0.60 / 22.50 for ALL tokens of each type
    assert close(cost.input_usd, 90_000 * 6e-6)
    assert close(cost.cache_read_usd, 150_000 * 0.6e-6)
    assert close(cost.cache_write_usd, 6_000 * 7.5e-6 + 4_000 * 12e-6)
    assert close(cost.output_usd, 2_000 * 22.5e-6)
    assert close(cost.total_usd, reference_total("anthropic", "claude-sonnet-4-5-20250929", sonnet_call(250_000)))


@pytest.mark.parametrize(("total_input", "tiered"), [(199_999, False), (200_000, False), (200_001, True)])
def test_the_tier_starts_above_its_threshold(pricer: Pricer, total_input: int, tiered: bool) -> None:
    cost = priced(pricer, "anthropic", "claude-sonnet-4-5", sonnet_call(total_input))
    assert close(cost.output_usd, 2_000 * (22.5e-6 if tiered else 15e-6))
    assert close(cost.total_usd, reference_total("anthropic", "claude-sonnet-4-5", sonnet_call(total_input)))


def test_the_tier_follows_total_input_not_uncached_input(pricer: Pricer) -> None:
    # 1,000 uncached tokens, but 201,000 total: the call is a long-context call
    tokens = Tokens(input_tokens=201_000, cache_read_tokens=200_000, output_tokens=10)
    cost = priced(pricer, "anthropic", "claude-sonnet-4-5", tokens)
    assert close(cost.cache_read_usd, 200_000 * 0.6e-6)


# --- pricing context -----------------------------------------------------------------------------------------------


def test_batch_is_half_price_from_the_data(pricer: Pricer) -> None:
    cost = priced(pricer, "anthropic", "claude-haiku-4-5", HAIKU_CACHED, PricingContext(batch=True))
    assert close(cost.total_usd, 0.00555 / 2)
    calc = reference("anthropic", "claude-haiku-4-5", HAIKU_CACHED, {"processing": "batch"})
    assert close(cost.total_usd, float(calc.total_price))


def test_anthropic_batch_service_tier_means_batch(pricer: Pricer) -> None:
    by_flag = priced(pricer, "anthropic", "claude-haiku-4-5", HAIKU_CACHED, PricingContext(batch=True))
    by_tier = priced(pricer, "anthropic", "claude-haiku-4-5", HAIKU_CACHED, PricingContext(service_tier="batch"))
    assert by_flag == by_tier


def test_batch_without_a_data_variant_uses_the_50_percent_rule(pricer: Pricer, warned: list[str]) -> None:
    # genai-prices has no batch variant for Claude Opus 4.1
    tokens = Tokens(input_tokens=10_000, output_tokens=1_000)
    standard = priced(pricer, "anthropic", "claude-opus-4-1", tokens)
    batch = priced(pricer, "anthropic", "claude-opus-4-1", tokens, PricingContext(batch=True))
    assert close(batch.total_usd, standard.total_usd / 2)
    assert close(batch.total_usd, (10_000 * 15 + 1_000 * 75) / 2 / 1e6)
    assert warned == []


def test_batch_before_the_data_variant_starts_uses_the_rule(warned: list[str]) -> None:
    # the bundled data's batch variants start on 2026-10-14; before that the stated 50% rule applies
    early = Pricer(warn=warned.append, clock=lambda: NOW.replace(month=9).timestamp())
    cost = early.price("anthropic", "claude-haiku-4-5", HAIKU_CACHED, PricingContext(batch=True))
    assert cost is not None
    assert close(cost.total_usd, 0.00555 / 2)


def test_batch_follows_the_data_where_it_differs_from_half(pricer: Pricer) -> None:
    # genai-prices' GPT-4.1 batch variant halves input and output but keeps the cached-input price
    tokens = Tokens(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=1_000)
    cost = priced(pricer, "openai", "gpt-4.1", tokens, PricingContext(batch=True))
    assert close(cost.cache_read_usd, 4_000 * 0.5e-6)
    assert close(cost.input_usd, 6_000 * 1e-6)
    assert close(cost.total_usd, reference_total("openai", "gpt-4.1", tokens, {"processing": "batch"}))


def test_openai_flex_from_the_data(pricer: Pricer) -> None:
    cost = priced(pricer, "openai", "gpt-5-mini-2025-08-07", GPT5_MINI_CACHED, PricingContext(service_tier="flex"))
    assert close(cost.total_usd, (4_000 * 0.125 + 6_000 * 0.0125 + 1_000 * 1) / 1e6)
    expected = reference_total("openai", "gpt-5-mini-2025-08-07", GPT5_MINI_CACHED, {"service_tier": "flex"})
    assert close(cost.total_usd, expected)


def test_openai_flex_without_a_flex_variant_is_the_batch_price(pricer: Pricer, warned: list[str]) -> None:
    # GPT-4.1 has a batch variant but no flex one: flex = batch price
    tokens = Tokens(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=1_000)
    flex = priced(pricer, "openai", "gpt-4.1", tokens, PricingContext(service_tier="flex"))
    assert flex == priced(pricer, "openai", "gpt-4.1", tokens, PricingContext(batch=True))
    # gpt-5.1-codex-mini has neither: half the standard price
    standard = priced(pricer, "openai", "gpt-5.1-codex-mini", tokens)
    flex = priced(pricer, "openai", "gpt-5.1-codex-mini", tokens, PricingContext(service_tier="flex"))
    assert close(flex.total_usd, standard.total_usd / 2)
    assert warned == []


def test_openai_priority_from_the_data(pricer: Pricer) -> None:
    cost = priced(pricer, "openai", "gpt-5-mini", GPT5_MINI_CACHED, PricingContext(service_tier="priority"))
    assert close(cost.total_usd, (4_000 * 0.45 + 6_000 * 0.045 + 1_000 * 3.6) / 1e6)
    expected = reference_total("openai", "gpt-5-mini", GPT5_MINI_CACHED, {"service_tier": "priority"})
    assert close(cost.total_usd, expected)


def test_a_tier_the_data_lacks_is_standard_price_and_warned_once(pricer: Pricer, warned: list[str]) -> None:
    standard = priced(pricer, "openai", "gpt-5-nano", GPT5_MINI_CACHED)
    for _ in range(3):
        priority = priced(pricer, "openai", "gpt-5-nano", GPT5_MINI_CACHED, PricingContext(service_tier="Priority"))
        assert priority == standard
    assert len(warned) == 1
    assert "service_tier='priority'" in warned[0]
    assert "gpt-5-nano" in warned[0]


@pytest.mark.parametrize("tier", [None, "default", "auto", "standard", "DEFAULT"])
def test_standard_tiers_are_list_price(pricer: Pricer, warned: list[str], tier: str | None) -> None:
    context = PricingContext(service_tier=tier, inference_geo="global", speed="standard")
    assert priced(pricer, "openai", "gpt-5-mini", GPT5_MINI_CACHED, context) == priced(
        pricer, "openai", "gpt-5-mini", GPT5_MINI_CACHED
    )
    assert warned == []


def test_anthropic_us_inference_costs_1_1x(pricer: Pricer) -> None:
    standard = priced(pricer, "anthropic", "claude-haiku-4-5", HAIKU_CACHED)
    us = priced(pricer, "anthropic", "claude-haiku-4-5", HAIKU_CACHED, PricingContext(inference_geo="us"))
    assert close(us.total_usd, 0.00555 * 1.1)
    assert close(us.cache_write_usd, standard.cache_write_usd * 1.1)


def test_us_batch_compounds(pricer: Pricer) -> None:
    cost = priced(pricer, "anthropic", "claude-haiku-4-5", HAIKU_CACHED, PricingContext(batch=True, inference_geo="us"))
    assert close(cost.total_usd, 0.00555 * 0.5 * 1.1)


def test_anthropic_fast_mode_from_the_data(pricer: Pricer) -> None:
    tokens = Tokens(input_tokens=10_000, output_tokens=1_000)
    cost = priced(pricer, "anthropic", "claude-opus-4-8", tokens, PricingContext(speed="fast"))
    assert close(cost.total_usd, (10_000 * 10 + 1_000 * 50) / 1e6)
    assert close(cost.total_usd, reference_total("anthropic", "claude-opus-4-8", tokens, {"speed": "fast"}))


# --- providers -----------------------------------------------------------------------------------------------------


def test_every_mapped_provider_id_exists_in_the_data() -> None:
    from genai_prices import data_snapshot

    ids = {provider.id for provider in data_snapshot.get_snapshot().providers}
    assert set(PROVIDER_IDS.values()) <= ids


@pytest.mark.parametrize(
    ("provider", "model", "provider_id"),
    [
        ("aws.bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "aws"),
        ("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws"),
        ("gcp.vertex_ai", "claude-haiku-4-5@20251001", "google"),
        ("azure.ai.openai", "gpt-5-mini", "azure"),
        ("azure.ai.inference", "phi-4", "azure"),
        ("az.ai.openai", "o4-mini", "azure"),
    ],
)
def test_platform_providers(pricer: Pricer, provider: str, model: str, provider_id: str) -> None:
    tokens = Tokens(input_tokens=20_000, cache_read_tokens=5_000, output_tokens=800)
    cost = priced(pricer, provider, model, tokens)
    assert close(cost.total_usd, reference_total(provider_id, model, tokens))


def test_azure_openai_is_not_mistaken_for_openai(pricer: Pricer) -> None:
    # genai-prices' fuzzy provider lookup sends "azure.ai.openai" to OpenAI, which has no phi-4
    assert pricer.price("azure.ai.openai", "phi-4", Tokens(input_tokens=1, output_tokens=1)) is not None


def test_bedrock_regional_price_differs_from_anthropic(pricer: Pricer) -> None:
    tokens = Tokens(input_tokens=1_000_000, output_tokens=0)
    bedrock = priced(pricer, "aws.bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0", tokens)
    assert close(bedrock.total_usd, 1.1)  # genai-prices: in-region / geo profile at 1.1x the global price


def test_a_listed_free_model_costs_zero_but_a_non_token_price_is_unknown(pricer: Pricer, warned: list[str]) -> None:
    tokens = Tokens(input_tokens=100, output_tokens=100)
    assert pricer.price("azure.ai.inference", "mai-ds-r1:free", tokens) == Cost(0.0, 0.0, 0.0, 0.0, 0.0)
    assert pricer.price("openai", "tts-1", tokens) is None  # priced per character, not per token
    assert len(warned) == 1


# --- unknown is not zero -------------------------------------------------------------------------------------------


def test_unknown_model_is_none_and_warned_once(pricer: Pricer, warned: list[str]) -> None:
    tokens = Tokens(input_tokens=100, output_tokens=10)
    assert pricer.price("anthropic", "claude-made-up-9", tokens) is None
    assert pricer.price("anthropic", "claude-made-up-9", tokens) is None
    assert len(warned) == 1
    assert "claude-made-up-9" in warned[0]
    assert pricer.price("openai", "claude-made-up-9", tokens) is None
    assert pricer.price("no-such-provider", "gpt-5", tokens) is None
    assert pricer.price("openai", None, tokens) is None
    assert pricer.price("openai", None, tokens) is None
    assert len(warned) == 4


def test_unknown_model_warns_once_across_threads(pricer: Pricer, warned: list[str]) -> None:
    barrier = threading.Barrier(8)
    results: list[Cost | None] = []

    def call() -> None:
        barrier.wait()
        for _ in range(200):
            results.append(pricer.price("openai", "gpt-unknown", Tokens(input_tokens=1, output_tokens=1)))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [None] * 1600
    assert len(warned) == 1


@pytest.mark.parametrize(
    "tokens",
    [
        Tokens(),
        Tokens(input_tokens=100),
        Tokens(output_tokens=100),
        Tokens(input_tokens=None, output_tokens=100, cache_read_tokens=50),
    ],
)
def test_missing_usage_is_none_without_a_warning(pricer: Pricer, warned: list[str], tokens: Tokens) -> None:
    assert pricer.price("openai", "gpt-5-mini", tokens) is None
    assert warned == []


@pytest.mark.parametrize(
    "tokens",
    [
        # Anthropic's own input_tokens (uncached only) passed as the total
        Tokens(input_tokens=1_000, cache_read_tokens=8_000, cache_write_tokens=1_000, output_tokens=500),
        Tokens(input_tokens=1_000, cache_write_tokens=100, cache_write_1h_tokens=200, output_tokens=5),
        Tokens(input_tokens=-1, output_tokens=5),
        Tokens(input_tokens=10, output_tokens=-5),
        Tokens(input_tokens=10, cache_read_tokens=-5, output_tokens=5),
    ],
)
def test_inconsistent_usage_is_none_and_warned_once(pricer: Pricer, warned: list[str], tokens: Tokens) -> None:
    assert pricer.price("anthropic", "claude-haiku-4-5", tokens) is None
    assert pricer.price("anthropic", "claude-haiku-4-5", tokens) is None
    assert len(warned) == 1
    assert "TOTAL" in warned[0]


def test_zero_tokens_cost_zero_for_a_known_model(pricer: Pricer) -> None:
    assert priced(pricer, "openai", "gpt-5-mini", Tokens(input_tokens=0, output_tokens=0)).total_usd == 0.0


def test_a_broken_warn_callback_does_not_fail_the_call() -> None:
    def explode(message: str) -> None:
        raise RuntimeError(message)

    pricer = Pricer(warn=explode)
    assert pricer.price("openai", "gpt-unknown", Tokens(input_tokens=1, output_tokens=1)) is None


def test_default_warnings_go_to_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="firsttoken.pricing"):
        assert Pricer().price("openai", "gpt-unknown-2", Tokens(input_tokens=1, output_tokens=1)) is None
    assert [record.name for record in caplog.records] == ["firsttoken.pricing"]
    assert "gpt-unknown-2" in caplog.records[0].getMessage()
