"""Property: for any consistent usage, `Pricer.price` equals genai-prices' own `calc_price` on the same usage.

Both sides are exact until a single final rounding (genai-prices sums Decimals; firsttoken divides integers, which
Python rounds correctly), so they agree to the last bit -- asserted on top of the required 1e-12. What keeps this
from being a tautology:

- the reference side is genai-prices' public `calc_price`, fed a keyword-for-keyword copy of the Tokens
  (`_reference.genai_usage`): firsttoken's decomposition, tier selection and price scaling are not used on it;
- usages are drawn around every tier threshold of the chosen models (100K, 200K, 272K total input), with each
  cache field sometimes unreported, and both the total and its input/output split are compared;
- models span Anthropic and OpenAI, with and without long-context tiers, 5m/1h cache writes, cache-write-priced
  OpenAI models, an input-only model and fallback/platform providers, in standard and non-standard contexts;
- where firsttoken applies a stated rule because the data has no variant, the expected value is genai-prices'
  standard price times that rule's factor, and the test first checks that the data really lacks the variant.
"""

from __future__ import annotations

import math
from datetime import timezone
from decimal import Decimal
from typing import NamedTuple

import pytest
from genai_prices import data_snapshot
from genai_prices.types import ModelPrice, Tier, TieredPrices
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from firsttoken.pricing import DEFAULT, Pricer, PricingContext, Tokens
from firsttoken.pricing.arithmetic import UnitPrice, build_rates, compute

from ._reference import genai_usage, reference
from .conftest import NOW

BATCH = PricingContext(batch=True)
FLEX = PricingContext(service_tier="flex")
PRIORITY = PricingContext(service_tier="priority")
FAST = PricingContext(speed="fast")
US = PricingContext(inference_geo="us")


class Case(NamedTuple):
    provider: str
    """gen_ai.provider.name, as firsttoken is called."""
    provider_id: str
    """genai-prices provider id, as the reference is called."""
    model: str
    context: PricingContext
    price_context: dict[str, str] | None
    """What genai-prices is asked for: the data variant (None: standard prices)."""
    factor: Decimal = Decimal(1)
    """A stated rule's factor over genai-prices' price, where the data has no variant."""


CASES = [
    # Anthropic: 5m/1h writes; tiers at 200K (Sonnet 4.5) and 100K (Haiku 5.5), in standard and batch prices
    Case("anthropic", "anthropic", "claude-haiku-4-5-20251001", DEFAULT, None),
    Case("anthropic", "anthropic", "claude-haiku-4-5-20251001", BATCH, {"processing": "batch"}),
    Case("anthropic", "anthropic", "claude-sonnet-4-5-20250929", DEFAULT, None),
    Case("anthropic", "anthropic", "claude-sonnet-4-5-20250929", BATCH, {"processing": "batch"}),
    Case("anthropic", "anthropic", "claude-haiku-5-5", DEFAULT, None),
    Case("anthropic", "anthropic", "claude-haiku-5-5", BATCH, {"processing": "batch"}),
    Case("anthropic", "anthropic", "claude-sonnet-4-6", DEFAULT, None),
    Case("anthropic", "anthropic", "claude-opus-4-8", FAST, {"speed": "fast"}),
    Case("anthropic", "anthropic", "claude-3-5-haiku-20241022", DEFAULT, None),
    # rules where the data has no variant
    Case("anthropic", "anthropic", "claude-opus-4-1", BATCH, None, Decimal("0.5")),
    Case("anthropic", "anthropic", "claude-haiku-4-5", US, None, Decimal("1.1")),
    Case("openai", "openai", "gpt-5.1-codex-mini", FLEX, None, Decimal("0.5")),
    # OpenAI: cached input; flex / priority / batch variants; tiers at 272K with priced cache writes
    Case("openai", "openai", "gpt-5-mini-2025-08-07", DEFAULT, None),
    Case("openai", "openai", "gpt-5-mini-2025-08-07", FLEX, {"service_tier": "flex"}),
    Case("openai", "openai", "gpt-5-mini-2025-08-07", PRIORITY, {"service_tier": "priority"}),
    Case("openai", "openai", "gpt-5", BATCH, {"processing": "batch"}),
    Case("openai", "openai", "gpt-4.1", BATCH, {"processing": "batch"}),
    Case("openai", "openai", "gpt-4o-mini", DEFAULT, None),
    Case("openai", "openai", "o4-mini", DEFAULT, None),
    Case("openai", "openai", "gpt-5.6-sol", DEFAULT, None),
    Case("openai", "openai", "gpt-5.6-sol", PRIORITY, {"service_tier": "priority"}),
    Case("openai", "openai", "gpt-5.6-luna", FLEX, {"service_tier": "flex"}),
    Case("openai", "openai", "gpt-5.5-pro", DEFAULT, None),
    Case("openai", "openai", "text-embedding-3-small", DEFAULT, None),
    # platforms
    Case("aws.bedrock", "aws", "us.anthropic.claude-haiku-4-5-20251001-v1:0", DEFAULT, None),
    Case("gcp.vertex_ai", "google", "claude-sonnet-4-5@20250929", DEFAULT, None),
    Case("azure.ai.openai", "azure", "gpt-5-mini", DEFAULT, None),
]

THRESHOLDS = [0, 1, 99_999, 100_000, 100_001, 199_999, 200_000, 200_001, 271_999, 272_000, 272_001]

PRICER = Pricer(warn=lambda message: pytest.fail(f"unexpected warning: {message}"), clock=NOW.timestamp)


@st.composite
def usages(draw: st.DrawFn) -> Tokens:
    """Consistent usage: reads + writes <= total input, 5m + 1h <= writes; unreported fields are None."""
    total = draw(
        st.one_of(
            st.integers(0, 400_000),
            st.sampled_from(THRESHOLDS),
            st.integers(0, 3_000_000),
        )
    )
    output = draw(st.one_of(st.integers(0, 200_000), st.sampled_from([0, 1, 64_000])))
    read = draw(st.one_of(st.none(), st.integers(0, total)))
    room = total - (read or 0)
    write = draw(st.one_of(st.none(), st.integers(0, room)))
    write_1h = write_5m = None
    if write is not None:
        write_1h = draw(st.one_of(st.none(), st.integers(0, write)))
        write_5m = draw(st.one_of(st.none(), st.integers(0, write - (write_1h or 0))))
    reasoning = draw(st.one_of(st.none(), st.integers(0, output)))
    return Tokens(
        input_tokens=total,
        output_tokens=output,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=reasoning,
    )


def has_active_variant(case: Case) -> bool:
    _, info = data_snapshot.get_snapshot().find_provider_model(case.model, None, case.provider_id, None)
    wanted = {"processing": "batch"} if case.context.batch else {}
    if case.context.service_tier:
        wanted["service_tier"] = case.context.service_tier
    if case.context.speed:
        wanted["speed"] = case.context.speed
    if case.context.inference_geo:
        wanted["inference_geo"] = case.context.inference_geo
    return any(
        all(wanted.get(key) == value for key, value in variant.when.items())
        and (variant.constraint is None or variant.constraint.active(NOW.astimezone(timezone.utc)))
        for variant in info.price_variants or ()
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.provider}/{case.model}/{case.price_context}")
def test_each_case_asks_genai_prices_for_what_the_data_has(case: Case) -> None:
    """Guards the property below: a data-path case has an active variant, a rule-path case really has none."""
    assert has_active_variant(case) == (case.price_context is not None)
    if case.price_context is not None:
        sample = Tokens(input_tokens=1_000_000, output_tokens=1_000_000)
        standard = reference(case.provider_id, case.model, sample).total_price
        assert reference(case.provider_id, case.model, sample, case.price_context).total_price != standard


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), tokens=usages())
def test_pricer_matches_calc_price(case: Case, tokens: Tokens) -> None:
    cost = PRICER.price(case.provider, case.model, tokens, case.context)
    calc = reference(case.provider_id, case.model, tokens, case.price_context)
    expected_total = float(calc.total_price * case.factor)
    expected_input = float(calc.input_price * case.factor)  # genai-prices' input includes cache reads and writes
    expected_output = float(calc.output_price * case.factor)
    note(f"{case}\n{tokens}\nfirsttoken: {cost}\ngenai-prices: {calc!r}")

    assert cost is not None
    assert math.isclose(cost.total_usd, expected_total, rel_tol=0, abs_tol=1e-12)
    assert cost.total_usd == expected_total  # both exact until one final rounding: bit-identical
    input_with_cache = cost.input_usd + cost.cache_read_usd + cost.cache_write_usd
    assert math.isclose(input_with_cache, expected_input, rel_tol=0, abs_tol=1e-12)
    assert math.isclose(cost.output_usd, expected_output, rel_tol=0, abs_tol=1e-12)
    parts = cost.input_usd + cost.output_usd + cost.cache_read_usd + cost.cache_write_usd
    assert math.isclose(parts, cost.total_usd, rel_tol=0, abs_tol=1e-12)
    if (tokens.input_tokens or tokens.output_tokens) and case.model != "text-embedding-3-small":
        assert cost.total_usd > 0  # not a vacuous 0 == 0


# --- the arithmetic alone, on price sheets the bundled data does not have ------------------------------------------
# (a separate 5-minute write price, several tiers per type, tiers on some types only), against genai-prices' own
# ModelPrice.calc_price with the same prices.

PRICES = st.decimals(min_value=0, max_value=200, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def price_sheets(draw: st.DrawFn) -> dict[str, Decimal | TieredPrices]:
    starts = sorted(draw(st.sets(st.sampled_from([1_000, 100_000, 128_000, 200_000, 272_000]), max_size=3)))
    keys = ["input_mtok", "output_mtok"]
    if draw(st.booleans()):
        keys.append("cache_read_mtok")
    if draw(st.booleans()):
        keys.append("cache_write_mtok")
        keys += [key for key in ("cache_write_5m_mtok", "cache_write_1h_mtok") if draw(st.booleans())]
    sheet: dict[str, Decimal | TieredPrices] = {}
    for key in keys:
        tier_starts = [start for start in starts if draw(st.booleans())]
        base = draw(PRICES)
        if tier_starts:
            sheet[key] = TieredPrices(base, [Tier(start, draw(PRICES)) for start in tier_starts])
        else:
            sheet[key] = base
    return sheet


def unit_prices(sheet: dict[str, Decimal | TieredPrices]) -> dict[str, UnitPrice]:
    return {
        key: UnitPrice(value.base, tuple((tier.start, tier.price) for tier in value.tiers))
        if isinstance(value, TieredPrices)
        else UnitPrice(value)
        for key, value in sheet.items()
    }


@settings(max_examples=600, deadline=None)
@given(sheet=price_sheets(), tokens=usages(), multiplier=st.sampled_from(["1", "0.8", "0.5", "1.1", "0.55"]))
def test_arithmetic_matches_genai_prices_on_any_price_sheet(
    sheet: dict[str, Decimal | TieredPrices], tokens: Tokens, multiplier: str
) -> None:
    rates = build_rates(unit_prices(sheet), Decimal(multiplier))
    assert rates is not None
    cost = compute(rates, tokens)
    calc = ModelPrice(**sheet).calc_price(genai_usage(tokens))
    expected = float(calc["total_price"] * Decimal(multiplier))
    note(f"{sheet}\n{tokens}\n{cost}\n{calc}")
    assert cost is not None
    assert math.isclose(cost.total_usd, expected, rel_tol=0, abs_tol=1e-12)
    assert cost.total_usd == expected
    assert math.isclose(cost.output_usd, float(calc["output_price"] * Decimal(multiplier)), rel_tol=0, abs_tol=1e-12)
