"""Negotiated prices: a customer's own per-model prices and discount multipliers, over genai-prices' list prices.

Loaded from a dict (`instrument(pricing=...)`) or a JSON/TOML file named by `FIRSTTOKEN_PRICING_FILE`, validated once
at start: a typo in a price file should stop the service at boot with the file and key path in the message, not
silently misprice every call. The format is documented in docs/pricing.md:

    {
      "multiplier": 0.9,
      "providers": {"openai": {"multiplier": 0.8, "models": {"gpt-5-mini": {"input_mtok": 0.2, "output_mtok": 1.6}}}},
      "models": {
        "claude-haiku-4-5": {"multiplier": 0.75},
        "my-finetune": {"input_mtok": 3, "output_mtok": 12, "cache_read_mtok": 0.3,
                        "long_context": {"above_input_tokens": 200000, "input_mtok": 6, "output_mtok": 18,
                                         "cache_read_mtok": 0.6}}
      }
    }

Numbers are read as exact decimals (JSON and TOML floats are parsed as `Decimal`; Python floats via their shortest
repr), so a negotiated 0.2 $/MTok is 0.2, not 0.2000000000000000111.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from firsttoken.pricing.arithmetic import (
    CACHE_READ,
    CACHE_WRITE,
    CACHE_WRITE_1H,
    INPUT,
    OUTPUT,
    PriceSheet,
    UnitPrice,
)

ENV_PRICING_FILE = "FIRSTTOKEN_PRICING_FILE"

# File key -> genai-prices price key. Anthropic's default cache write TTL is 5 minutes, and genai-prices prices it
# as `cache_write_mtok`, so `cache_write_5m_mtok` and `cache_write_mtok` are two spellings of one price.
_PRICE_FIELDS: Mapping[str, str] = {
    "input_mtok": INPUT,
    "output_mtok": OUTPUT,
    "cache_read_mtok": CACHE_READ,
    "cache_write_5m_mtok": CACHE_WRITE,
    "cache_write_mtok": CACHE_WRITE,
    "cache_write_1h_mtok": CACHE_WRITE_1H,
}
_THRESHOLD_FIELD = "above_input_tokens"
_MODEL_FIELDS = frozenset({*_PRICE_FIELDS, "long_context", "multiplier"})
_LONG_CONTEXT_FIELDS = frozenset({*_PRICE_FIELDS, _THRESHOLD_FIELD})
_PROVIDER_FIELDS = frozenset({"multiplier", "models"})
_TOP_FIELDS = frozenset({"multiplier", "providers", "models"})


class PricingConfigError(ValueError):
    """A pricing override file or value is invalid. The message names the file (if any) and the exact key path."""


@dataclass(frozen=True)
class ModelOverride:
    """What the overrides say about one model: its own prices, and/or a multiplier."""

    prices: PriceSheet | None
    """The model's full price sheet. When set, genai-prices' prices for the model are not used at all."""
    multiplier: Decimal | None
    """Applied to `prices` when set, else to genai-prices' prices (replacing provider and global multipliers)."""


@dataclass(frozen=True, eq=False)
class PricingOverrides:
    """Validated price overrides. Build with `from_dict`, `from_file` or `from_env` (or `load_pricing`).

    Precedence for a call on (provider, model): a model entry under `providers[provider].models`, else one under
    the top-level `models`; model keys match the model id as called (case-insensitive) or the genai-prices model id
    it resolves to (so "gpt-5-mini" also covers "gpt-5-mini-2025-08-07"). A model entry with prices replaces
    genai-prices' prices entirely (times its own multiplier, if any). Otherwise the most specific multiplier wins:
    the model entry's, else the provider's, else the global one -- multipliers do not compound.
    """

    multiplier: Decimal | None = None
    provider_multipliers: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    models: Mapping[str, ModelOverride] = field(default_factory=lambda: MappingProxyType({}))
    provider_models: Mapping[tuple[str, str], ModelOverride] = field(default_factory=lambda: MappingProxyType({}))
    source: str | None = None
    """Where the overrides came from (a file path, or None for a dict), for messages."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> PricingOverrides:
        """Validate `data` (the format in docs/pricing.md). Raises PricingConfigError naming the bad key path."""
        return _Parser(source).top(data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PricingOverrides:
        """Load a JSON file (or TOML, by a `.toml` suffix, on Python 3.11+). Raises PricingConfigError."""
        name = os.fspath(path)
        try:
            text = Path(name).read_text(encoding="utf-8")
        except OSError as e:
            raise PricingConfigError(f"{name}: cannot read the pricing file: {e.strerror or e}") from None
        data = _parse_toml(name, text) if name.lower().endswith(".toml") else _parse_json(name, text)
        if not isinstance(data, Mapping):
            raise PricingConfigError(f"{name}: the top level must be an object, got {_type_name(data)}")
        return cls.from_dict(data, source=name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PricingOverrides | None:
        """Load the file named by FIRSTTOKEN_PRICING_FILE; None when the variable is unset or empty."""
        env = os.environ if environ is None else environ
        path = env.get(ENV_PRICING_FILE, "").strip()
        return cls.from_file(path) if path else None

    def model_override(self, provider: str, model: str) -> ModelOverride | None:
        """The entry for `model` (an id as called, or a genai-prices model id) on `provider`, if any."""
        key = model.lower()
        return self.provider_models.get((provider.lower(), key)) or self.models.get(key)

    def multiplier_for(self, provider: str, entry: ModelOverride | None) -> Decimal:
        """The multiplier for list prices on `provider`, given the model's entry (if any): most specific wins."""
        if entry is not None and entry.multiplier is not None:
            return entry.multiplier
        provider_multiplier = self.provider_multipliers.get(provider.lower())
        if provider_multiplier is not None:
            return provider_multiplier
        return self.multiplier if self.multiplier is not None else Decimal(1)


def load_pricing(
    pricing: PricingOverrides | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> PricingOverrides | None:
    """Overrides from `instrument(pricing=...)`: an object, a dict, or a file path; else FIRSTTOKEN_PRICING_FILE.

    An explicit `pricing` replaces the file named by the environment (they are not merged).
    """
    if pricing is None:
        return PricingOverrides.from_env(environ)
    if isinstance(pricing, PricingOverrides):
        return pricing
    if isinstance(pricing, Mapping):
        return PricingOverrides.from_dict(pricing)
    if isinstance(pricing, (str, os.PathLike)):
        return PricingOverrides.from_file(pricing)
    raise PricingConfigError(f"pricing must be a dict, a file path or PricingOverrides, got {_type_name(pricing)}")


class _Parser:
    """Walks the override document, keeping the key path for error messages."""

    def __init__(self, source: str | None) -> None:
        self.where = source if source is not None else "pricing"

    def fail(self, path: str, problem: str) -> PricingConfigError:
        return PricingConfigError(f"{self.where}: {path} {problem}" if path else f"{self.where}: {problem}")

    def table(self, value: object, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be an object, got {_type_name(value)}")
        for key in value:
            if not isinstance(key, str) or not key.strip():
                raise self.fail(path, f"has an invalid key {key!r}: keys must be non-empty strings")
        return value

    def known(self, table: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    _field(path, key), f"is not a known key (expected one of: {', '.join(sorted(allowed))})"
                )

    def number(self, value: object, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise self.fail(path, f"must be a non-negative number (got {_show(value)})")
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not amount.is_finite() or amount < 0:
            raise self.fail(path, f"must be a non-negative number (got {_show(value)})")
        return amount

    def top(self, data: Mapping[str, Any]) -> PricingOverrides:
        data = self.table(data, "")
        self.known(data, _TOP_FIELDS, "")
        multiplier = self.number(data["multiplier"], "multiplier") if "multiplier" in data else None
        models = self.models(data.get("models", {}), "models")
        provider_multipliers: dict[str, Decimal] = {}
        provider_models: dict[tuple[str, str], ModelOverride] = {}
        providers = self.table(data.get("providers", {}), "providers")
        for name, raw in providers.items():
            path = _join("providers", name)
            entry = self.table(raw, path)
            self.known(entry, _PROVIDER_FIELDS, path)
            if not entry:
                raise self.fail(path, "sets nothing: give a multiplier and/or models")
            if "multiplier" in entry:
                provider_multipliers[name.lower()] = self.number(entry["multiplier"], f"{path}.multiplier")
            for model, override in self.models(entry.get("models", {}), f"{path}.models").items():
                provider_models[(name.lower(), model)] = override
        return PricingOverrides(
            multiplier=multiplier,
            provider_multipliers=MappingProxyType(provider_multipliers),
            models=MappingProxyType(models),
            provider_models=MappingProxyType(provider_models),
            source=None if self.where == "pricing" else self.where,
        )

    def models(self, value: object, path: str) -> dict[str, ModelOverride]:
        parsed: dict[str, ModelOverride] = {}
        for name, raw in self.table(value, path).items():
            if name.lower() in parsed:
                raise self.fail(_join(path, name), "is listed twice (model keys are case-insensitive)")
            parsed[name.lower()] = self.model(raw, _join(path, name))
        return parsed

    def model(self, value: object, path: str) -> ModelOverride:
        entry = self.table(value, path)
        self.known(entry, _MODEL_FIELDS, path)
        multiplier = self.number(entry["multiplier"], f"{path}.multiplier") if "multiplier" in entry else None
        base = self.prices(entry, path)
        if "long_context" in entry:
            if not base:
                raise self.fail(f"{path}.long_context", "needs the model's own prices (input_mtok, output_mtok, ...)")
            sheet = self.long_context(entry["long_context"], f"{path}.long_context", base, entry, path)
        else:
            sheet = {key: UnitPrice(amount) for key, amount in base.items()}
        if not sheet and multiplier is None:
            raise self.fail(path, "sets nothing: give prices (input_mtok, output_mtok, ...) and/or a multiplier")
        return ModelOverride(prices=MappingProxyType(sheet) if sheet else None, multiplier=multiplier)

    def prices(self, entry: Mapping[str, Any], path: str) -> dict[str, Decimal]:
        """The price fields of a model or long-context entry, by genai-prices price key."""
        if "cache_write_mtok" in entry and "cache_write_5m_mtok" in entry:
            raise self.fail(f"{path}.cache_write_mtok", "and cache_write_5m_mtok are the same price: set only one")
        prices = {
            _PRICE_FIELDS[name]: self.number(entry[name], f"{path}.{name}") for name in _PRICE_FIELDS if name in entry
        }
        if prices:
            for required in ("input_mtok", "output_mtok"):
                if required not in entry:
                    raise self.fail(f"{path}.{required}", "is required when prices are given")
            if CACHE_WRITE_1H in prices and CACHE_WRITE not in prices:
                raise self.fail(
                    f"{path}.cache_write_1h_mtok", "needs cache_write_5m_mtok too (the price of the other writes)"
                )
        return prices

    def long_context(
        self, value: object, path: str, base: dict[str, Decimal], model: Mapping[str, Any], model_path: str
    ) -> dict[str, UnitPrice]:
        entry = self.table(value, path)
        self.known(entry, _LONG_CONTEXT_FIELDS, path)
        if _THRESHOLD_FIELD not in entry:
            raise self.fail(f"{path}.{_THRESHOLD_FIELD}", "is required (total input tokens above which it applies)")
        threshold = entry[_THRESHOLD_FIELD]
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise self.fail(f"{path}.{_THRESHOLD_FIELD}", f"must be a non-negative integer (got {_show(threshold)})")
        tier = self.prices(entry, path)
        base_names = {name for name in _PRICE_FIELDS if name in model}
        for name in sorted(base_names):
            if _PRICE_FIELDS[name] not in tier:
                raise self.fail(f"{path}.{name}", f"is required because {model_path}.{name} is set")
        for name in sorted(_PRICE_FIELDS):
            if name in entry and _PRICE_FIELDS[name] not in base:
                raise self.fail(f"{path}.{name}", f"has no base price: set {model_path}.{name} too")
        return {key: UnitPrice(amount, ((threshold, tier[key]),)) for key, amount in base.items()}


def _join(path: str, key: str) -> str:
    """`path["key"]`: an entry of a user-named map (models, providers)."""
    return f"{path}[{json.dumps(key)}]"


def _field(path: str, key: str) -> str:
    """`path.key`: a field of a fixed-format table."""
    if not key.isidentifier():
        return _join(path, key)
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A value as the user wrote it: file numbers are parsed as Decimal, which should read as plain numbers."""
    return str(value) if isinstance(value, Decimal) else repr(value)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {json.dumps(key)}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _parse_json(name: str, text: str) -> object:
    try:
        return json.loads(
            text, parse_float=Decimal, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as e:
        raise PricingConfigError(f"{name}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except ValueError as e:
        raise PricingConfigError(f"{name}: not valid JSON: {e}") from None


def _parse_toml(name: str, text: str) -> object:
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        raise PricingConfigError(f"{name}: TOML pricing files need Python 3.11+; use JSON") from None
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise PricingConfigError(f"{name}: not valid TOML: {e}") from None
