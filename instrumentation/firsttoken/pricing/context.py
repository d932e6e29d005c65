"""How a call was served (batch, service tier, region, speed), which changes its price but not its tokens.

`PricingContext` is what a provider plug-in knows from the request and response. `requests_for` turns it into the
genai-prices price-context entries to ask the data for (genai-prices calls them price variants, selected by
`when={"processing": "batch"}`, `{"service_tier": "flex"}`, ...), each with what to do when the data has no variant
for it. Only facts stated in the pricing reference become explicit rules; everything else the data lacks is priced
at the standard rate with a warning, because guessing a premium would be a made-up number:

| context | genai-prices key | when the data has no variant |
|---|---|---|
| batch (or Anthropic `service_tier="batch"`) | processing=batch | x0.5 (Batch APIs cost 50%) |
| OpenAI `service_tier="flex"` | service_tier=flex | the batch price (flex = batch): batch variant, else x0.5 |
| any other non-standard tier (`priority`, `fast`, ...) | service_tier=<tier> | standard price + warning |
| Anthropic `inference_geo="us"` | inference_geo=us | x1.1 (US-only inference), first-party Anthropic API only |
| other `inference_geo` values | inference_geo=<geo> | standard price + warning |
| Anthropic `speed="fast"` | speed=fast | standard price + warning |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

BATCH_MULTIPLIER = Decimal("0.5")
"""Batch APIs (Anthropic Message Batches, OpenAI Batch) cost half of the standard price."""
US_GEO_MULTIPLIER = Decimal("1.1")
"""Anthropic's US-only inference (`inference_geo="us"`) costs 1.1x the standard price."""

STANDARD_TIERS = frozenset({"", "default", "auto", "standard"})
"""Service tiers that mean the standard price (OpenAI `default`/`auto`, Anthropic `standard`)."""
STANDARD_GEOS = frozenset({"", "global", "not_available"})
"""Inference regions billed at the standard price (Anthropic's default is global routing)."""
STANDARD_SPEEDS = frozenset({"", "standard"})


class PricingContext(NamedTuple):
    """How a call was served, as far as its price is concerned. Immutable and hashable (a cache key).

    Pass `DEFAULT` for an ordinary call: it is the price cache's fast path. Values are matched case-insensitively.
    """

    batch: bool = False
    """The call went through a Batch API (50% of the standard price)."""
    service_tier: str | None = None
    """The tier that served the call, from the response: OpenAI `default`/`flex`/`priority`/...; Anthropic
    `standard`/`priority`/`batch` (from `usage.service_tier`)."""
    inference_geo: str | None = None
    """Where Anthropic ran the call (`usage.inference_geo`), e.g. `us` for US-only inference (1.1x)."""
    speed: str | None = None
    """Anthropic's speed mode (`usage.speed`): `standard` or `fast` (priced by genai-prices where it has it)."""


DEFAULT = PricingContext()
"""An ordinary call: standard tier, no batch, global routing."""


class Fallback(enum.Enum):
    """What to do when genai-prices has no price variant for a requested context."""

    HALF = "batch"
    """Multiply by BATCH_MULTIPLIER."""
    AS_BATCH = "as-batch"
    """Price as a batch call (OpenAI flex = batch price)."""
    US_GEO = "us-geo"
    """Multiply by US_GEO_MULTIPLIER."""
    STANDARD = "standard"
    """No stated rule: standard price, and warn that the premium or discount is missing."""


@dataclass(frozen=True)
class VariantRequest:
    """One genai-prices price-context entry to ask for, and the rule to apply if the data has no variant for it."""

    key: str
    value: str
    fallback: Fallback


BATCH_REQUEST = VariantRequest("processing", "batch", Fallback.HALF)


def requests_for(context: PricingContext, provider_id: str) -> tuple[VariantRequest, ...]:
    """The price variants `context` asks for, given the genai-prices provider id that serves the model.

    Empty for a standard call. Values are lower-cased: genai-prices matches variants exactly and its data is lower
    case.
    """
    if context == DEFAULT:
        return ()
    tier = (context.service_tier or "").strip().lower()
    speed = (context.speed or "").strip().lower()
    geo = (context.inference_geo or "").strip().lower()
    requested: list[VariantRequest] = []
    if context.batch or tier == "batch":
        requested.append(BATCH_REQUEST)
    if tier == "flex":
        requested.append(VariantRequest("service_tier", "flex", Fallback.AS_BATCH))
    elif tier not in STANDARD_TIERS and tier != "batch":
        requested.append(VariantRequest("service_tier", tier, Fallback.STANDARD))
    if speed not in STANDARD_SPEEDS:
        requested.append(VariantRequest("speed", speed, Fallback.STANDARD))
    if geo not in STANDARD_GEOS:
        rule = Fallback.US_GEO if geo == "us" and provider_id == "anthropic" else Fallback.STANDARD
        requested.append(VariantRequest("inference_geo", geo, rule))
    return tuple(requested)
