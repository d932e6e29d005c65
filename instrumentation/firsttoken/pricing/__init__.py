"""Cost of LLM calls: genai-prices' data, resolved once per model and cached, plain arithmetic per call.

    from firsttoken.pricing import Pricer, Tokens

    pricer = Pricer()
    cost = pricer.price("anthropic", "claude-haiku-4-5-20251001",
                        Tokens(input_tokens=10_000, cache_read_tokens=8_000, cache_write_tokens=1_000,
                               output_tokens=500))
    cost.total_usd  # 0.00555; None instead of a Cost when the model has no known price

See docs/pricing.md for the token convention, the pricing context, overrides and which facts come from where.
"""

from firsttoken.pricing.arithmetic import Cost
from firsttoken.pricing.context import DEFAULT, PricingContext
from firsttoken.pricing.overrides import ENV_PRICING_FILE, PricingConfigError, PricingOverrides, load_pricing
from firsttoken.pricing.pricer import Pricer
from firsttoken.pricing.tokens import Tokens

__all__ = [
    "DEFAULT",
    "ENV_PRICING_FILE",
    "Cost",
    "Pricer",
    "PricingConfigError",
    "PricingContext",
    "PricingOverrides",
    "Tokens",
    "load_pricing",
]
