"""Negotiated prices: the override format, its precedence, and errors that name the file and the exact key path."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from firsttoken.pricing import (
    ENV_PRICING_FILE,
    Pricer,
    PricingConfigError,
    PricingContext,
    PricingOverrides,
    Tokens,
    load_pricing,
)

from .conftest import NOW

HAIKU = Tokens(
    input_tokens=10_000,
    output_tokens=500,
    cache_read_tokens=8_000,
    cache_write_tokens=1_000,
    cache_write_5m_tokens=500,
    cache_write_1h_tokens=500,
)  # $0.005925 at list price
GPT = Tokens(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=6_000)  # $0.00315 at list price


def pricer_with(data: dict[str, Any], warned: list[str] | None = None) -> Pricer:
    sink = warned if warned is not None else []
    return Pricer(PricingOverrides.from_dict(data), warn=sink.append, clock=NOW.timestamp)


def total(pricer: Pricer, provider: str, model: str, tokens: Tokens, context: PricingContext | None = None) -> float:
    cost = pricer.price(provider, model, tokens, context or PricingContext())
    assert cost is not None
    return cost.total_usd


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=0, abs_tol=1e-12)


# --- multipliers ---------------------------------------------------------------------------------------------------


def test_global_multiplier() -> None:
    pricer = pricer_with({"multiplier": 0.8})
    assert close(total(pricer, "anthropic", "claude-haiku-4-5-20251001", HAIKU), 0.005925 * 0.8)
    assert close(total(pricer, "openai", "gpt-5-mini", GPT), 0.00315 * 0.8)


def test_the_most_specific_multiplier_wins_and_they_do_not_compound() -> None:
    pricer = pricer_with(
        {
            "multiplier": 0.9,
            "providers": {"openai": {"multiplier": 0.8}},
            "models": {"gpt-5-mini": {"multiplier": 0.5}},
        }
    )
    assert close(total(pricer, "openai", "gpt-5-mini-2025-08-07", GPT), 0.00315 * 0.5)  # model, by genai-prices id
    assert close(total(pricer, "openai", "gpt-5", Tokens(input_tokens=1_000_000, output_tokens=0)), 1.25 * 0.8)
    assert close(total(pricer, "anthropic", "claude-haiku-4-5", HAIKU), 0.005925 * 0.9)


def test_provider_model_entry_beats_the_top_level_one() -> None:
    pricer = pricer_with(
        {
            "models": {"claude-haiku-4-5": {"multiplier": 0.5}},
            "providers": {"aws.bedrock": {"models": {"claude-haiku-4-5": {"multiplier": 0.25}}}},
        }
    )
    assert close(total(pricer, "anthropic", "claude-haiku-4-5", HAIKU), 0.005925 * 0.5)
    bedrock = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    list_price = total(Pricer(clock=NOW.timestamp), "aws.bedrock", bedrock, HAIKU)
    # the Bedrock model resolves to genai-prices id "regional.anthropic.claude-haiku-4-5-20251001-v1:0", which the
    # key "claude-haiku-4-5" does not name: only the exact model id or the genai-prices id match
    assert close(total(pricer, "aws.bedrock", bedrock, HAIKU), list_price)
    pricer = pricer_with({"providers": {"aws.bedrock": {"models": {bedrock: {"multiplier": 0.25}}}}})
    assert close(total(pricer, "aws.bedrock", bedrock, HAIKU), list_price * 0.25)


def test_model_keys_are_case_insensitive() -> None:
    pricer = pricer_with({"models": {"GPT-5-Mini": {"multiplier": 0.5}}})
    assert close(total(pricer, "openai", "gpt-5-mini", GPT), 0.00315 * 0.5)


def test_a_multiplier_does_not_price_an_unknown_model() -> None:
    warned: list[str] = []
    pricer = pricer_with({"multiplier": 0.8, "models": {"gpt-nope": {"multiplier": 0.5}}}, warned)
    assert pricer.price("openai", "gpt-nope", GPT) is None
    assert len(warned) == 1


# --- own prices ----------------------------------------------------------------------------------------------------


def test_own_prices_price_a_model_genai_prices_does_not_know() -> None:
    pricer = pricer_with({"models": {"ft:my-model": {"input_mtok": 3, "output_mtok": 12, "cache_read_mtok": 0.3}}})
    cost = pricer.price("openai", "ft:my-model", GPT)
    assert cost is not None
    assert close(cost.input_usd, 4_000 * 3e-6)
    assert close(cost.cache_read_usd, 6_000 * 0.3e-6)
    assert close(cost.output_usd, 1_000 * 12e-6)


def test_own_prices_replace_the_list_prices_entirely() -> None:
    # no cache_read_mtok given: cache reads are billed as input, not at genai-prices' cached price
    pricer = pricer_with({"models": {"gpt-5-mini": {"input_mtok": 0.2, "output_mtok": 1.6}}})
    cost = pricer.price("openai", "gpt-5-mini-2025-08-07", GPT)
    assert cost is not None
    assert close(cost.input_usd, 10_000 * 0.2e-6)
    assert close(cost.output_usd, 1_000 * 1.6e-6)
    assert cost.cache_read_usd == cost.cache_write_usd == 0.0


def test_own_prices_are_exact_decimals() -> None:
    pricer = pricer_with({"models": {"m": {"input_mtok": 0.1, "output_mtok": 0.2}}})
    cost = pricer.price("openai", "m", Tokens(input_tokens=3_000_000, output_tokens=0))
    assert cost is not None
    assert cost.total_usd == 0.3  # 3 x 0.1 exactly, not 0.30000000000000004


def test_own_prices_with_cache_write_ttls_and_a_multiplier_and_global_ignored() -> None:
    entry = {
        "input_mtok": 1,
        "output_mtok": 5,
        "cache_read_mtok": 0.1,
        "cache_write_5m_mtok": 1.25,
        "cache_write_1h_mtok": 2,
        "multiplier": 0.5,
    }
    pricer = pricer_with({"multiplier": 0.1, "models": {"claude-haiku-4-5": entry}})
    assert close(total(pricer, "anthropic", "claude-haiku-4-5-20251001", HAIKU), 0.005925 * 0.5)


def test_own_long_context_tier() -> None:
    entry = {
        "input_mtok": 3,
        "output_mtok": 15,
        "cache_read_mtok": 0.3,
        "long_context": {"above_input_tokens": 200_000, "input_mtok": 6, "output_mtok": 22.5, "cache_read_mtok": 0.6},
    }
    pricer = pricer_with({"models": {"my-sonnet": entry}})
    under = Tokens(input_tokens=200_000, cache_read_tokens=100_000, output_tokens=1_000)
    over = under._replace(input_tokens=200_001)
    assert close(total(pricer, "anthropic", "my-sonnet", under), (100_000 * 3 + 100_000 * 0.3 + 1_000 * 15) / 1e6)
    assert close(total(pricer, "anthropic", "my-sonnet", over), (100_001 * 6 + 100_000 * 0.6 + 1_000 * 22.5) / 1e6)


def test_context_rules_apply_to_own_prices() -> None:
    warned: list[str] = []
    pricer = pricer_with({"models": {"my-model": {"input_mtok": 2, "output_mtok": 8}}}, warned)
    tokens = Tokens(input_tokens=1_000_000, output_tokens=1_000_000)
    assert close(total(pricer, "openai", "my-model", tokens, PricingContext(batch=True)), 5.0)
    assert close(total(pricer, "openai", "my-model", tokens, PricingContext(service_tier="flex")), 5.0)
    assert close(total(pricer, "openai", "my-model", tokens, PricingContext(service_tier="priority")), 10.0)
    assert len(warned) == 1
    assert "priority" in warned[0]


# --- loading -------------------------------------------------------------------------------------------------------

VALID = {
    "multiplier": 0.9,
    "providers": {"openai": {"multiplier": 0.8, "models": {"gpt-5-mini": {"input_mtok": 0.2, "output_mtok": 1.6}}}},
    "models": {"claude-haiku-4-5": {"multiplier": 0.75}},
}


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "pricing.json"
    path.write_text(json.dumps(VALID))
    overrides = PricingOverrides.from_file(path)
    assert overrides.source == str(path)
    pricer = Pricer(overrides, clock=NOW.timestamp)
    assert close(total(pricer, "anthropic", "claude-haiku-4-5", HAIKU), 0.005925 * 0.75)
    assert close(total(pricer, "openai", "gpt-5-mini", Tokens(input_tokens=1_000_000, output_tokens=0)), 0.2)


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "pricing.toml"
    path.write_text(
        "multiplier = 0.9\n"
        '[providers.openai]\nmultiplier = 0.8\n[providers.openai.models."gpt-5-mini"]\ninput_mtok = 0.2\n'
        "output_mtok = 1.6\n"
        '[models."claude-haiku-4-5"]\nmultiplier = 0.75\n'
    )
    from_toml = PricingOverrides.from_file(path)
    from_dict = PricingOverrides.from_dict(VALID)
    for field in ("multiplier", "provider_multipliers", "models", "provider_models"):
        assert getattr(from_toml, field) == getattr(from_dict, field)


def test_env_file(tmp_path: Path) -> None:
    path = tmp_path / "pricing.json"
    path.write_text(json.dumps(VALID))
    overrides = PricingOverrides.from_env({ENV_PRICING_FILE: str(path)})
    assert overrides is not None
    assert overrides.multiplier is not None
    assert PricingOverrides.from_env({}) is None
    assert PricingOverrides.from_env({ENV_PRICING_FILE: "  "}) is None


def test_load_pricing_takes_an_object_a_dict_or_a_path_else_the_env(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"multiplier": 0.5}))
    env = {ENV_PRICING_FILE: str(path)}
    overrides = PricingOverrides.from_dict({"multiplier": 0.7})
    assert load_pricing(overrides, environ=env) is overrides
    loaded = load_pricing({"multiplier": 0.7}, environ=env)
    assert loaded is not None
    assert str(loaded.multiplier) == "0.7"  # explicit beats the environment's file
    loaded = load_pricing(str(path), environ={})
    assert loaded is not None
    assert str(loaded.multiplier) == "0.5"
    loaded = load_pricing(None, environ=env)
    assert loaded is not None
    assert str(loaded.multiplier) == "0.5"
    assert load_pricing(None, environ={}) is None
    with pytest.raises(PricingConfigError, match="pricing must be a dict"):
        load_pricing(42, environ={})  # type: ignore[arg-type]


M = 'models["gpt-5-mini"]'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"models": {"gpt-5-mini": {"input_mtok": -1, "output_mtok": 1}}},
            f"{M}.input_mtok must be a non-negative number (got -1)",
        ),
        (
            {"models": {"gpt-5-mini": {"input_mtok": "0.2", "output_mtok": 1}}},
            f"{M}.input_mtok must be a non-negative number (got '0.2')",
        ),
        (
            {"models": {"gpt-5-mini": {"input_mtok": True, "output_mtok": 1}}},
            f"{M}.input_mtok must be a non-negative number (got True)",
        ),
        (
            {"models": {"gpt-5-mini": {"input_mtok": float("nan"), "output_mtok": 1}}},
            f"{M}.input_mtok must be a non-negative number (got nan)",
        ),
        ({"models": {"gpt-5-mini": {"input_mtok": 1}}}, f"{M}.output_mtok is required when prices are given"),
        ({"models": {"gpt-5-mini": {"input_mtoks": 1}}}, f"{M}.input_mtoks is not a known key (expected one of: "),
        ({"models": {"gpt-5-mini": {}}}, f"{M} sets nothing"),
        ({"models": {"gpt-5-mini": 0.5}}, f"{M} must be an object, got float"),
        ({"models": {"gpt-5-mini": {"multiplier": -0.2}}}, f"{M}.multiplier must be a non-negative number (got -0.2)"),
        (
            {"models": {"x": {"input_mtok": 1, "output_mtok": 1, "cache_write_1h_mtok": 2}}},
            'models["x"].cache_write_1h_mtok needs cache_write_5m_mtok',
        ),
        (
            {"models": {"x": {"input_mtok": 1, "output_mtok": 1, "cache_write_mtok": 2, "cache_write_5m_mtok": 2}}},
            'models["x"].cache_write_mtok and cache_write_5m_mtok are the same price',
        ),
        (
            {"models": {"x": {"input_mtok": 1, "output_mtok": 1, "long_context": {"input_mtok": 2, "output_mtok": 2}}}},
            'models["x"].long_context.above_input_tokens is required',
        ),
        (
            {
                "models": {
                    "x": {
                        "input_mtok": 1,
                        "output_mtok": 1,
                        "long_context": {"above_input_tokens": 1.5, "input_mtok": 2, "output_mtok": 2},
                    }
                }
            },
            'models["x"].long_context.above_input_tokens must be a non-negative integer (got 1.5)',
        ),
        (
            {
                "models": {
                    "x": {
                        "input_mtok": 1,
                        "output_mtok": 1,
                        "cache_read_mtok": 0.1,
                        "long_context": {"above_input_tokens": 9, "input_mtok": 2, "output_mtok": 2},
                    }
                }
            },
            'models["x"].long_context.cache_read_mtok is required because models["x"].cache_read_mtok is set',
        ),
        (
            {
                "models": {
                    "x": {
                        "input_mtok": 1,
                        "output_mtok": 1,
                        "long_context": {
                            "above_input_tokens": 9,
                            "input_mtok": 2,
                            "output_mtok": 2,
                            "cache_read_mtok": 1,
                        },
                    }
                }
            },
            'models["x"].long_context.cache_read_mtok has no base price',
        ),
        (
            {"models": {"x": {"multiplier": 1, "long_context": {"above_input_tokens": 9}}}},
            'models["x"].long_context needs the model\'s own prices',
        ),
        ({"models": {"X": {"multiplier": 1}, "x": {"multiplier": 2}}}, 'models["x"] is listed twice'),
        (
            {"providers": {"openai": {"multiplier": -1}}},
            'providers["openai"].multiplier must be a non-negative number (got -1)',
        ),
        (
            {"providers": {"openai": {"models": {"gpt-5-mini": {"input_mtok": 1}}}}},
            f'providers["openai"].{M}.output_mtok is required',
        ),
        ({"providers": {"openai": {}}}, 'providers["openai"] sets nothing'),
        ({"providers": ["openai"]}, "providers must be an object, got list"),
        ({"model": {}}, "model is not a known key"),
        ({"multiplier": None}, "multiplier must be a non-negative number (got None)"),
    ],
)
def test_errors_name_the_exact_key_path(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PricingConfigError) as raised:
        PricingOverrides.from_dict(data)
    assert str(raised.value).startswith(f"pricing: {message}")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pricing.json"
    path.write_text('{"models": {"gpt-5-mini": {"input_mtok": -0.5, "output_mtok": 2}}}')
    with pytest.raises(PricingConfigError) as raised:
        PricingOverrides.from_file(path)
    assert str(raised.value) == f'{path}: models["gpt-5-mini"].input_mtok must be a non-negative number (got -0.5)'
    assert 'pricing.json: models["gpt-5-mini"].input_mtok must be a non-negative number' in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"models": {', "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 13"),
        ('{"multiplier": 1, "multiplier": 2}', 'not valid JSON: duplicate key "multiplier"'),
        ('{"multiplier": NaN}', "not valid JSON: NaN is not a number"),
        ("[1, 2]", "the top level must be an object, got list"),
    ],
)
def test_unreadable_json(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pricing.json"
    path.write_text(text)
    with pytest.raises(PricingConfigError) as raised:
        PricingOverrides.from_file(path)
    assert str(raised.value) == f"{path}: {message}"


def test_unreadable_toml(tmp_path: Path) -> None:
    path = tmp_path / "pricing.toml"
    path.write_text("multiplier = = 1\n")
    with pytest.raises(PricingConfigError, match=r"pricing\.toml: not valid TOML: "):
        PricingOverrides.from_file(path)


def test_a_missing_file_from_the_env_names_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(PricingConfigError) as raised:
        PricingOverrides.from_env({ENV_PRICING_FILE: str(path)})
    assert str(raised.value) == f"{path}: cannot read the pricing file: No such file or directory"


def test_the_documented_examples_are_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "pricing.md").read_text()
    blocks = {lang: doc.split(f"```{lang}\n")[1].split("```")[0] for lang in ("json", "toml")}
    for lang, text in blocks.items():
        path = tmp_path / f"pricing.{lang}"
        path.write_text(text)
        overrides = PricingOverrides.from_file(path)
        pricer = Pricer(overrides, clock=NOW.timestamp)
        assert close(total(pricer, "anthropic", "claude-haiku-4-5-20251001", HAIKU), 0.005925 * 0.75)
        gpt = total(pricer, "openai", "gpt-5-mini", Tokens(input_tokens=1_000_000, output_tokens=1_000_000))
        assert close(gpt, 0.2 + 1.6)
    sonnet = Pricer(PricingOverrides.from_file(tmp_path / "pricing.json"), clock=NOW.timestamp)
    over = Tokens(input_tokens=300_000, output_tokens=1_000_000)
    assert close(total(sonnet, "anthropic", "my-sonnet", over), 300_000 * 6e-6 + 22.5)
