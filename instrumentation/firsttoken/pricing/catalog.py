"""Resolve one (provider, model, pricing context) to `Rates`, from genai-prices data, overrides and stated rules.

This is the slow path (tens to hundreds of microseconds: genai-prices' model matching and price selection), run once
per key and cached by `Pricer`. Nothing here is a price table: prices come from genai-prices' data snapshot (the
bundled one, or one fetched by the price feed) or from the user's overrides; the only numbers are the two rules the
pricing reference states for when the data has no variant (batch 50%, Anthropic US-only 1.1x; see context.py).

Effective dates: genai-prices selects prices by the request date (StartDateConstraint is a UTC date), so a
resolution holds until the next UTC midnight; a model with time-of-day prices (TimeOfDateConstraint, e.g. off-peak
rates) holds until its next boundary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from firsttoken.pricing.arithmetic import INPUT, OUTPUT, PRICE_KEYS, PriceSheet, Rates, UnitPrice, build_rates
from firsttoken.pricing.context import (
    BATCH_MULTIPLIER,
    BATCH_REQUEST,
    US_GEO_MULTIPLIER,
    Fallback,
    PricingContext,
    VariantRequest,
    requests_for,
)
from firsttoken.pricing.overrides import PricingOverrides

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice, Provider

PROVIDER_IDS: Mapping[str, str] = {
    "anthropic": "anthropic",
    "openai": "openai",
    "aws.bedrock": "aws",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    # the deprecated `gen_ai.system` spellings
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
}
"""`gen_ai.provider.name` -> genai-prices provider id. Explicit, because genai-prices' fuzzy provider matching would
send "azure.ai.openai" to OpenAI (its OpenAI entry matches any id containing "openai"). Other names go to
genai-prices' own provider lookup."""


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one key: rates (None: unpriced), how long it holds, and what to warn about."""

    rates: Rates | None
    valid_until: float
    """Epoch seconds after which the prices must be resolved again."""
    warnings: tuple[tuple[tuple[str, ...], str], ...] = ()
    """(dedupe key, message) pairs; the Pricer emits each key once."""
    source: str = ""
    """How the price was found, for debugging: the genai-prices provider/model id, or the override."""


def resolve(
    snapshot: DataSnapshot,
    provider: str,
    model: str | None,
    context: PricingContext,
    overrides: PricingOverrides | None,
    now: float,
) -> Resolution:
    """Resolve prices for a call on `provider`/`model` at epoch time `now` under `context`."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    valid_until = next_utc_midnight(now)
    if not model:
        return Resolution(None, valid_until, (((provider, ""), f"no model name on a {provider} call: cost unknown"),))

    provider_id = PROVIDER_IDS.get(provider.lower(), provider.lower())
    entry = overrides.model_override(provider, model) if overrides else None
    found: tuple[Provider, ModelInfo] | None = None
    if entry is None or entry.prices is None:
        found = _find(snapshot, provider_id, model)
        if found is not None and entry is None and overrides is not None:
            entry = overrides.model_override(provider, found[1].id)

    requested = requests_for(context, found[0].id if found else provider_id)
    if entry is not None and entry.prices is not None:
        sheet: PriceSheet = entry.prices
        multiplier = entry.multiplier if entry.multiplier is not None else Decimal(1)
        plan = _plan(requested, None, moment)
        source = f"override for {model!r}"
    elif found is not None:
        gp_provider, info = found
        own = any(info is candidate for candidate in gp_provider.models)
        # Like genai-prices' calc_price: a model borrowed from a fallback provider (Azure serving OpenAI's list)
        # does not take that provider's price variants, which describe the original provider's offer.
        plan = _plan(requested, info if own else None, moment)
        model_price = info.get_prices(moment, plan.price_context or None)
        sheet = _sheet(model_price) if _prices_anything(model_price) else _FREE
        multiplier = overrides.multiplier_for(provider, entry) if overrides else Decimal(1)
        source = f"genai-prices {gp_provider.id}/{info.id}"
        valid_until = min(valid_until, _next_time_of_day_boundary(info, moment))
    else:
        message = f"no price for model {model!r} on provider {provider!r} (genai-prices has none): cost unknown"
        return Resolution(None, valid_until, (((provider, model), message),))

    rates = build_rates(sheet, multiplier * plan.rule_multiplier)
    warnings: list[tuple[tuple[str, ...], str]] = [
        (
            (provider, model, request.key, request.value),
            f"no price for {request.key}={request.value!r} on {provider}/{model} ({source}): priced at standard rates",
        )
        for request in plan.unpriced
    ]
    if rates is None:
        warnings.append(((provider, model), f"{source} has no per-token price for {model!r}: cost unknown"))
    return Resolution(rates, valid_until, tuple(warnings), source)


@dataclass(frozen=True)
class _Plan:
    price_context: dict[str, str]
    """The genai-prices PriceContext: the requests the data has a variant for."""
    rule_multiplier: Decimal
    unpriced: tuple[VariantRequest, ...]
    """Requests neither the data nor a stated rule prices."""


def _plan(requested: Iterable[VariantRequest], info: ModelInfo | None, moment: datetime) -> _Plan:
    """Decide, per request, whether genai-prices' data prices it (a variant) or a stated rule does."""
    requested = tuple(requested)
    wanted = {request.key: request.value for request in requested}
    price_context: dict[str, str] = {}
    multiplier = Decimal(1)
    unpriced: list[VariantRequest] = []
    batch_done = False
    for request in requested:
        if _has_variant(info, request, wanted, moment):
            price_context[request.key] = request.value
            batch_done = batch_done or request == BATCH_REQUEST
        elif request.fallback is Fallback.HALF:
            multiplier *= BATCH_MULTIPLIER
            batch_done = True
        elif request.fallback is Fallback.US_GEO:
            multiplier *= US_GEO_MULTIPLIER
        elif request.fallback is Fallback.AS_BATCH:
            if BATCH_REQUEST in requested or batch_done:
                continue  # the batch request prices it
            if _has_variant(info, BATCH_REQUEST, {**wanted, "processing": "batch"}, moment):
                price_context["processing"] = "batch"
            else:
                multiplier *= BATCH_MULTIPLIER
            batch_done = True
        else:
            unpriced.append(request)
    return _Plan(price_context, multiplier, tuple(unpriced))


def _has_variant(info: ModelInfo | None, request: VariantRequest, wanted: Mapping[str, str], moment: datetime) -> bool:
    """Whether the model has a price variant, active at `moment`, selected by `request` within the whole context."""
    if info is None:
        return False
    for variant in info.price_variants or ():
        if variant.when.get(request.key) != request.value:
            continue
        if any(wanted.get(key) != value for key, value in variant.when.items()):
            continue
        if variant.constraint is None or variant.constraint.active(moment):
            return True
    return False


def _find(snapshot: DataSnapshot, provider_id: str, model: str) -> tuple[Provider, ModelInfo] | None:
    try:
        return snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None


_FREE: PriceSheet = {INPUT: UnitPrice(Decimal(0)), OUTPUT: UnitPrice(Decimal(0))}
"""A model genai-prices lists with no price at all (e.g. Azure's `...:free` models) costs nothing, as calc_price says.
A model with prices but none per token (per character, per audio hour) is not the same: it is unpriced here."""


def _prices_anything(model_price: ModelPrice) -> bool:
    return any(value is not None for key, value in vars(model_price).items() if not key.startswith("_"))


def _sheet(model_price: ModelPrice) -> PriceSheet:
    """The prices firsttoken can bill `Tokens` against, from a genai-prices ModelPrice."""
    from genai_prices.types import TieredPrices

    sheet: dict[str, UnitPrice] = {}
    for key in PRICE_KEYS:
        value: Any = getattr(model_price, key, None)
        if value is None:
            continue
        if isinstance(value, TieredPrices):
            sheet[key] = UnitPrice(value.base, tuple((tier.start, tier.price) for tier in value.tiers))
        elif isinstance(value, Decimal):
            sheet[key] = UnitPrice(value)
        else:  # pragma: no cover - genai-prices validates its data
            raise TypeError(f"unexpected price {value!r} for {key}")
    return sheet


def next_utc_midnight(now: float) -> float:
    """The epoch time of the first UTC midnight after `now`: when date-effective prices can next change."""
    return (math.floor(now / 86_400) + 1) * 86_400.0


def _next_time_of_day_boundary(info: ModelInfo, moment: datetime) -> float:
    """The next start or end of any time-of-day price window of the model, or +inf if it has none."""
    from genai_prices.types import ConditionalPrice, TimeOfDateConstraint

    constraints: list[Any] = [v.constraint for v in info.price_variants or ()]
    if isinstance(info.prices, list):
        constraints.extend(p.constraint for p in info.prices if isinstance(p, ConditionalPrice))
    boundaries = [
        _next_occurrence(edge, moment)
        for constraint in constraints
        if isinstance(constraint, TimeOfDateConstraint)
        for edge in (constraint.start_time, constraint.end_time)
    ]
    return min(boundaries, default=math.inf)


def _next_occurrence(edge: time, moment: datetime) -> float:
    edge = edge if edge.tzinfo is not None else edge.replace(tzinfo=timezone.utc)
    today: date = moment.date()
    for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
        candidate = datetime.combine(day, edge).astimezone(timezone.utc)
        if candidate > moment:
            return candidate.timestamp()
    return next_utc_midnight(moment.timestamp())  # pragma: no cover - a time of day recurs within two days
