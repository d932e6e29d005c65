"""Anthropic Messages API (`anthropic` 0.7x through 2.x, including `beta.messages`, Bedrock, Vertex and Foundry).

Usage semantics: Anthropic's `usage.input_tokens` EXCLUDES cache reads and writes, so the total input reported on the
span is input + cache_read + cache_creation. In a stream, `message_start` carries the input and cache counts and
`message_delta` carries the CUMULATIVE output count (and may repeat updated input/cache counts): assigned, never added.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from firsttoken import semconv
from firsttoken.core.contract import RequestInfo, StreamRecorder
from firsttoken.core.facts import CallFacts
from firsttoken.core.plugin import ProviderPlugin, optional_attr, present_types
from firsttoken.providers._read import (
    SHARED_REASONS,
    ParamTable,
    as_int,
    mapping,
    mark_content_chunk,
    request_params,
    single_reason,
    tool_definitions,
)
from firsttoken.validation.structured import StructuredSpec

_PARAMS = ParamTable(
    (
        ("max_tokens", semconv.REQUEST_MAX_TOKENS, "int"),
        ("temperature", semconv.REQUEST_TEMPERATURE, "float"),
        ("top_p", semconv.REQUEST_TOP_P, "float"),
        ("top_k", semconv.REQUEST_TOP_K, "int"),
        ("stop_sequences", semconv.REQUEST_STOP_SEQUENCES, "str_list"),
        ("service_tier", "anthropic.request.service_tier", "str"),
        ("inference_geo", "anthropic.request.inference_geo", "str"),
        ("speed", "anthropic.request.speed", "str"),
    )
)

_TOOL_BLOCKS = frozenset(("tool_use", "server_tool_use", "mcp_tool_use"))


def _requested_schema(body: Mapping[str, Any]) -> StructuredSpec | None:
    """What output shape the request asked for: structured outputs (`output_config.format`, or the beta's
    `output_format`), or a forced tool (`tool_choice: {"type": "tool", "name": ...}`) used as a schema."""
    # `mapping(value)` is called only for what is neither a dict nor absent (the SDKs' Omit sentinel, say): this
    # runs on every call, and most requests ask for none of these
    config = body.get("output_config")
    if config is not None and type(config) is not dict:
        config = mapping(config)
    fmt = config.get("format") if config is not None else body.get("output_format")
    if fmt is not None and type(fmt) is not dict:
        fmt = mapping(fmt)
    if fmt is not None and fmt.get("type") == "json_schema":
        return tuple.__new__(StructuredSpec, ("json_schema", fmt.get("schema"), None))
    choice = body.get("tool_choice")
    if choice is not None and type(choice) is not dict:
        choice = mapping(choice)
    if choice is not None and choice.get("type") == "tool" and isinstance(choice.get("name"), str):
        return StructuredSpec("tool", tool_name=choice["name"])
    return None


def _apply_usage(usage: Any, facts: CallFacts, raw_input: int | None = None) -> int | None:
    """Fold an Anthropic usage object into facts; returns the provider's own input count (streams keep it, so a
    later `message_delta` that updates cache counts recomputes the total correctly).

    A count that is absent or None leaves its fact as is, which is what a `message_delta` that repeats only some
    counts needs. Written out field by field: this runs once per call (twice per stream).
    """
    if usage is None:
        return raw_input
    value = getattr(usage, "input_tokens", None)
    if type(value) is int:
        raw_input = value
    value = getattr(usage, "cache_read_input_tokens", None)
    if type(value) is int:
        facts.cache_read = value
    value = getattr(usage, "cache_creation_input_tokens", None)
    if type(value) is int:
        facts.cache_creation = value
    value = getattr(usage, "output_tokens", None)
    if type(value) is int:
        facts.output_tokens = value
    split = getattr(usage, "cache_creation", None)
    if split is not None:
        value = getattr(split, "ephemeral_5m_input_tokens", None)
        if type(value) is int:
            facts.cache_5m = value
        value = getattr(split, "ephemeral_1h_input_tokens", None)
        if type(value) is int:
            facts.cache_1h = value
    details = getattr(usage, "output_tokens_details", None)
    if details is not None:
        value = getattr(details, "thinking_tokens", None)
        if type(value) is int:
            facts.reasoning_tokens = value
    tier = getattr(usage, "service_tier", None)
    if type(tier) is str:
        facts.service_tier = tier
    if raw_input is not None:
        facts.input_tokens = raw_input + (facts.cache_read or 0) + (facts.cache_creation or 0)
    return raw_input


class MessagesEndpoint:
    operation = semconv.OP_CHAT
    surface = "messages"

    def read_request(self, body: Mapping[str, Any], keep_content: bool) -> RequestInfo:
        model = body.get("model")
        messages = body.get("messages")
        return RequestInfo(  # positional: this runs on every call
            model if isinstance(model, str) else None,
            request_params(body, _PARAMS),
            body.get("stream") is True,
            tool_definitions(body),
            _requested_schema(body),
            body if keep_content else None,
            messages if type(messages) is list else None,
        )

    def read_response(self, message: Any, facts: CallFacts) -> None:
        facts.response_id = getattr(message, "id", None)
        facts.response_model = getattr(message, "model", None)
        stop = getattr(message, "stop_reason", None)
        if isinstance(stop, str):
            facts.finish_reasons = SHARED_REASONS.get(stop) or single_reason(stop)
            facts.refusal = stop == "refusal"
        _apply_usage(getattr(message, "usage", None), facts)
        parts = facts.output_parts
        arguments = facts.tool_arguments
        for block in getattr(message, "content", None) or ():
            kind = getattr(block, "type", None)
            if kind == "text":
                if parts is not None:
                    parts.append(getattr(block, "text", "") or "")
            elif kind in _TOOL_BLOCKS:
                facts.add_tool_call(getattr(block, "name", None), getattr(block, "id", None))
                if arguments is not None:
                    arguments.append(getattr(block, "input", None))  # already decoded (a str if it was not JSON)

    def stream_recorder(self, facts: CallFacts) -> StreamRecorder:
        raw_input: int | None = None
        parts = facts.output_parts
        arguments = facts.tool_arguments
        # content block index -> list of partial_json fragments for that tool call
        tool_fragments: dict[int, list[str]] = {}
        perf = time.perf_counter

        def record(event: Any) -> None:
            nonlocal raw_input
            kind = event.type
            if kind == "content_block_delta":
                mark_content_chunk(facts, perf())
                if parts is not None or arguments is not None:
                    delta = event.delta
                    dkind = delta.type
                    if dkind == "text_delta":
                        if parts is not None:
                            parts.append(delta.text)
                    elif dkind == "input_json_delta" and arguments is not None:
                        fragments = tool_fragments.get(event.index)
                        if fragments is not None:
                            fragments.append(delta.partial_json)
            elif kind == "content_block_start":
                block = event.content_block
                if block.type in _TOOL_BLOCKS:
                    facts.add_tool_call(getattr(block, "name", None), getattr(block, "id", None))
                    if arguments is not None:
                        tool_fragments[event.index] = []
            elif kind == "content_block_stop":
                if arguments is not None:
                    fragments = tool_fragments.pop(event.index, None)
                    if fragments is not None:
                        arguments.append("".join(fragments))
            elif kind == "message_start":
                message = event.message
                facts.response_id = message.id
                facts.response_model = message.model
                raw_input = _apply_usage(message.usage, facts, raw_input)
            elif kind == "message_delta":
                stop = event.delta.stop_reason
                if stop:
                    facts.finish_reasons = single_reason(stop)
                    facts.refusal = stop == "refusal"
                raw_input = _apply_usage(event.usage, facts, raw_input)

        return record


class CountTokensEndpoint:
    operation = semconv.OP_COUNT_TOKENS
    surface = "messages.count_tokens"

    def read_request(self, body: Mapping[str, Any], keep_content: bool) -> RequestInfo:
        model = body.get("model")
        return RequestInfo(model if isinstance(model, str) else None, {})

    def read_response(self, response: Any, facts: CallFacts) -> None:
        facts.counted_tokens = as_int(getattr(response, "input_tokens", None))

    def stream_recorder(self, facts: CallFacts) -> StreamRecorder:  # pragma: no cover - count_tokens never streams
        return lambda _event: None


def plugin() -> ProviderPlugin | None:
    base = "anthropic._base_client"
    if optional_attr(base, "SyncAPIClient") is None:
        return None
    messages = MessagesEndpoint()
    return ProviderPlugin(
        name="anthropic",
        base_client_module=base,
        endpoints={
            "/v1/messages": messages,
            "/v1/messages/count_tokens": CountTokensEndpoint(),
        },
        client_provider_names={
            "AnthropicBedrock": "aws.bedrock",
            "AsyncAnthropicBedrock": "aws.bedrock",
            "AnthropicVertex": "gcp.vertex_ai",
            "AsyncAnthropicVertex": "gcp.vertex_ai",
            "AnthropicFoundry": "azure.ai.inference",
            "AsyncAnthropicFoundry": "azure.ai.inference",
        },
        sync_streams=present_types(optional_attr("anthropic._streaming", "Stream")),
        async_streams=present_types(optional_attr("anthropic._streaming", "AsyncStream")),
        response_wrappers=present_types(
            optional_attr("anthropic._response", "BaseAPIResponse"),
            optional_attr("anthropic._legacy_response", "LegacyAPIResponse"),
        ),
        # anthropic >= 2 asks `client._tracer` at the top of every request(); None there skips all of its span work.
        native_span_hook=(base, "BaseClient._tracer") if optional_attr(base, "BaseClient", "_tracer") else None,
    )
