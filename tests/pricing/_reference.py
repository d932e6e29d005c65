"""The independent side of every comparison: genai-prices' own `calc_price` on the same usage.

Kept deliberately naive (a keyword-for-keyword copy of `Tokens` into genai-prices' `Usage`, no derived values), so
that a test comparing it with `Pricer` checks firsttoken's arithmetic rather than a second copy of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from genai_prices import Usage, calc_price
from genai_prices.types import PriceCalculation

from firsttoken.pricing import Tokens

from .conftest import NOW


def genai_usage(tokens: Tokens) -> Usage:
    values = {
        "input_tokens": tokens.input_tokens,
        "output_tokens": tokens.output_tokens,
        "cache_read_tokens": tokens.cache_read_tokens,
        "cache_write_tokens": tokens.cache_write_tokens,
        "cache_write_5m_tokens": tokens.cache_write_5m_tokens,
        "cache_write_1h_tokens": tokens.cache_write_1h_tokens,
    }
    return Usage(**{key: value for key, value in values.items() if value is not None})


def reference(
    provider_id: str,
    model: str,
    tokens: Tokens,
    price_context: Mapping[str, str] | None = None,
    when: datetime = NOW,
) -> PriceCalculation:
    return calc_price(
        genai_usage(tokens),
        model,
        provider_id=provider_id,
        genai_request_timestamp=when,
        price_context=price_context,
    )


def reference_total(
    provider_id: str, model: str, tokens: Tokens, price_context: Mapping[str, str] | None = None
) -> float:
    return float(reference(provider_id, model, tokens, price_context).total_price)
