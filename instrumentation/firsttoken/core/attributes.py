"""Turn a call's `CallFacts` into span attributes: the one place usage, cache and stream semantics are decided."""

from __future__ import annotations

from opentelemetry.util.types import AttributeValue

from firsttoken import semconv
from firsttoken.core.facts import CallFacts


def outcome_attributes(facts: CallFacts, stream_completed: bool | None, attrs: dict[str, AttributeValue]) -> None:
    """Add the call's outcome to `attrs` (the request's attributes, set on the span together at the end).

    One function, usage included: it runs once per call, and a call per part would cost more than the part."""
    if facts.response_id:
        attrs[semconv.RESPONSE_ID] = facts.response_id
    if facts.response_model:
        attrs[semconv.RESPONSE_MODEL] = facts.response_model
    if facts.finish_reasons:
        attrs[semconv.RESPONSE_FINISH_REASONS] = facts.finish_reasons
    if facts.service_tier:
        attrs[semconv.OPENAI_RESPONSE_SERVICE_TIER] = facts.service_tier
    if facts.system_fingerprint:
        attrs[semconv.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = facts.system_fingerprint
    # Usage as the GenAI conventions define it; unknown is marked missing, never written as zero.
    total_in = facts.input_tokens
    if facts.counted_tokens is not None:
        attrs[semconv.COUNTED_INPUT_TOKENS] = facts.counted_tokens
    elif total_in is None and facts.output_tokens is None:
        attrs[semconv.USAGE_MISSING] = True
    else:
        if total_in is not None:
            attrs[semconv.USAGE_INPUT_TOKENS] = total_in
        if facts.output_tokens is not None:
            attrs[semconv.USAGE_OUTPUT_TOKENS] = facts.output_tokens
        if facts.reasoning_tokens is not None:
            attrs[semconv.USAGE_REASONING_OUTPUT_TOKENS] = facts.reasoning_tokens
        read = facts.cache_read
        creation = facts.cache_creation
        if read is not None:
            attrs[semconv.USAGE_CACHE_READ_INPUT_TOKENS] = read
        if creation is not None:
            attrs[semconv.USAGE_CACHE_CREATION_INPUT_TOKENS] = creation
        if facts.cache_5m is not None:
            attrs[semconv.USAGE_CACHE_CREATION_5M] = facts.cache_5m
        if facts.cache_1h is not None:
            attrs[semconv.USAGE_CACHE_CREATION_1H] = facts.cache_1h
        if read is not None:
            attrs[semconv.CACHE_HIT] = read > 0
            if total_in:
                attrs[semconv.CACHE_HIT_RATIO] = read / total_in
            else:
                attrs[semconv.CACHE_HIT_RATIO] = 0.0
    if facts.tool_names:
        attrs[semconv.TOOL_CALLS_NAMES] = tuple(facts.tool_names)
        attrs[semconv.TOOL_CALLS_COUNT] = len(facts.tool_names)
        if facts.tool_ids:
            attrs[semconv.TOOL_CALLS_IDS] = tuple(facts.tool_ids)
    if facts.refusal:
        attrs[semconv.REFUSAL] = True
    if stream_completed is not None:
        attrs[semconv.STREAM_COMPLETED] = stream_completed
        attrs[semconv.STREAM_CHUNKS] = facts.chunks
