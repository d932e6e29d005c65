"""The end-of-call stage that prices each LLM call and writes `firsttoken.cost.*` on its span.

Usage is read in the GenAI convention (input = total, cache reads and writes are parts of it), which is also
genai-prices' convention, so Anthropic and OpenAI calls need no special-casing here. A call whose usage is unknown
or whose model has no price gets `firsttoken.cost.priced=false` and no cost at all — never $0. Failed calls and
`count_tokens` (free) get no cost attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.util.types import AttributeValue

from firsttoken import semconv
from firsttoken.pricing import DEFAULT, Pricer, PricingContext, Tokens

if TYPE_CHECKING:
    from firsttoken.core.call import LLMCall
    from firsttoken.core.runtime import Stage

_GEO = "anthropic.request.inference_geo"
_SPEED = "anthropic.request.speed"


def _context(call: LLMCall, attrs: dict[str, AttributeValue]) -> PricingContext:
    tier = call.facts.service_tier or attrs.get(semconv.OPENAI_REQUEST_SERVICE_TIER)
    geo = attrs.get(_GEO)
    speed = attrs.get(_SPEED)
    if tier is None and geo is None and speed is None:
        return DEFAULT
    return PricingContext(
        service_tier=tier if isinstance(tier, str) else None,
        inference_geo=geo if isinstance(geo, str) else None,
        speed=speed if isinstance(speed, str) else None,
    )


def cost_stage(pricer: Pricer) -> Stage:
    def on_end(call: LLMCall, attrs: dict[str, AttributeValue]) -> None:
        operation = call.endpoint.operation
        if call.failed or operation == semconv.OP_COUNT_TOKENS:
            return
        facts = call.facts
        output: Any = facts.output_tokens
        if operation == semconv.OP_EMBEDDINGS and facts.input_tokens is not None:
            output = 0  # embeddings produce no output tokens; zero here is a fact, not a guess
        write_5m, write_1h = facts.cache_5m, facts.cache_1h
        tokens = Tokens(
            input_tokens=facts.input_tokens,
            output_tokens=output,
            cache_read_tokens=facts.cache_read,
            cache_write_tokens=facts.cache_creation,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
        )
        model = facts.response_model or call.request.model
        cost = pricer.price(call.provider, model, tokens, _context(call, attrs))
        if cost is None:
            attrs[semconv.COST_PRICED] = False
            return
        attrs[semconv.COST_PRICED] = True
        attrs[semconv.COST_USD] = cost.total_usd
        attrs[semconv.COST_INPUT_USD] = cost.input_usd
        attrs[semconv.COST_OUTPUT_USD] = cost.output_usd
        attrs[semconv.COST_CACHE_READ_USD] = cost.cache_read_usd
        attrs[semconv.COST_CACHE_WRITE_USD] = cost.cache_write_usd

    return on_end
