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
from firsttoken.pricing.arithmetic import compute_counts

if TYPE_CHECKING:
    from firsttoken.core.call import LLMCall
    from firsttoken.core.runtime import Stage

_GEO = "anthropic.request.inference_geo"
_SPEED = "anthropic.request.speed"
_TIER = semconv.OPENAI_REQUEST_SERVICE_TIER
_OP_COUNT_TOKENS = semconv.OP_COUNT_TOKENS
_OP_EMBEDDINGS = semconv.OP_EMBEDDINGS
_PRICED = semconv.COST_PRICED
_USD = semconv.COST_USD
_INPUT_USD = semconv.COST_INPUT_USD
_OUTPUT_USD = semconv.COST_OUTPUT_USD
_CACHE_READ_USD = semconv.COST_CACHE_READ_USD
_CACHE_WRITE_USD = semconv.COST_CACHE_WRITE_USD
_MAX_CONTEXTS = 256


def _context(tier: Any, geo: Any, speed: Any) -> PricingContext:
    return PricingContext(
        service_tier=tier if isinstance(tier, str) else None,
        inference_geo=geo if isinstance(geo, str) else None,
        speed=speed if isinstance(speed, str) else None,
    )


def cost_stage(pricer: Pricer) -> Stage:
    # (tier, geo, speed) as found on the call -> its PricingContext: a handful of distinct values per process, so a
    # call reuses one instead of building a NamedTuple (bounded in case the values come from the application).
    contexts: dict[tuple[Any, Any, Any], PricingContext] = {}

    rates_for = pricer.rates

    def on_end(call: LLMCall, attrs: dict[str, AttributeValue]) -> None:
        operation = call.endpoint.operation
        if call.failed or operation == _OP_COUNT_TOKENS:
            return
        facts = call.facts
        input_tokens = facts.input_tokens
        output: Any = facts.output_tokens
        if operation == _OP_EMBEDDINGS and input_tokens is not None:
            output = 0  # embeddings produce no output tokens; zero here is a fact, not a guess
        get = attrs.get
        tier = facts.service_tier or get(_TIER)
        geo = get(_GEO)
        speed = get(_SPEED)
        if tier is None and geo is None and speed is None:
            context = DEFAULT
        else:
            key = (tier, geo, speed)
            cached = contexts.get(key)
            if cached is None:
                cached = _context(tier, geo, speed)
                if len(contexts) >= _MAX_CONTEXTS:
                    contexts.clear()
                contexts[key] = cached
            context = cached
        provider = call.provider
        model = facts.response_model or call.request.model
        rates = rates_for(provider, model, context)
        cost = None
        if rates is not None:
            read, write, write_5m, write_1h = facts.cache_read, facts.cache_creation, facts.cache_5m, facts.cache_1h
            cost = compute_counts(rates, input_tokens, output, read, write, write_5m, write_1h)
            if cost is None and input_tokens is not None and output is not None:
                pricer.warn_inconsistent(provider, model, Tokens(input_tokens, output, read, write, write_5m, write_1h))
        if cost is None:
            attrs[_PRICED] = False
            return
        attrs[_PRICED] = True
        attrs[_USD], attrs[_INPUT_USD], attrs[_OUTPUT_USD], attrs[_CACHE_READ_USD], attrs[_CACHE_WRITE_USD] = cost

    return on_end
