"""OpenAI Chat Completions, Responses and Embeddings (`openai` 1.x through 3.x, including Azure OpenAI).

Usage semantics: OpenAI's input counts (`prompt_tokens`, Responses `input_tokens`) already INCLUDE cached tokens, so
they are the total as reported. A Chat Completions stream carries usage only in a final chunk, and only when the
request set `stream_options.include_usage`; without it usage is missing (marked, never estimated). firsttoken never
adds that option for the caller: the extra chunk (with `choices: []`) would change what their code iterates.
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
    finish_reasons,
    mapping,
    mark_content_chunk,
    request_params,
    single_reason,
    tool_definitions,
)
from firsttoken.validation.structured import StructuredSpec

_CHAT_PARAMS = ParamTable(
    (
        ("max_tokens", semconv.REQUEST_MAX_TOKENS, "int"),
        ("max_completion_tokens", semconv.REQUEST_MAX_TOKENS, "int"),
        ("temperature", semconv.REQUEST_TEMPERATURE, "float"),
        ("top_p", semconv.REQUEST_TOP_P, "float"),
        ("stop", semconv.REQUEST_STOP_SEQUENCES, "str_list"),
        ("seed", semconv.REQUEST_SEED, "int"),
        ("frequency_penalty", semconv.REQUEST_FREQUENCY_PENALTY, "float"),
        ("presence_penalty", semconv.REQUEST_PRESENCE_PENALTY, "float"),
        ("n", semconv.REQUEST_CHOICE_COUNT, "int"),
        ("service_tier", semconv.OPENAI_REQUEST_SERVICE_TIER, "str"),
        ("reasoning_effort", "openai.request.reasoning_effort", "str"),
    )
)
_RESPONSES_PARAMS = ParamTable(
    (
        ("max_output_tokens", semconv.REQUEST_MAX_TOKENS, "int"),
        ("temperature", semconv.REQUEST_TEMPERATURE, "float"),
        ("top_p", semconv.REQUEST_TOP_P, "float"),
        ("service_tier", semconv.OPENAI_REQUEST_SERVICE_TIER, "str"),
    )
)
_EMBEDDINGS_PARAMS = ParamTable(
    (
        ("dimensions", semconv.EMBEDDINGS_DIMENSION_COUNT, "int"),
        ("encoding_format", semconv.REQUEST_ENCODING_FORMATS, "str_list"),
    )
)


def _model(body: Mapping[str, Any]) -> str | None:
    model = body.get("model")
    return model if isinstance(model, str) else None


# The usage readers run once per call: a count that is an int (always, from the SDKs) or None is taken as is, and
# only anything else goes through `as_int`.
def _apply_details(facts: CallFacts, details: Any) -> None:
    if details is None:
        return
    value = getattr(details, "cached_tokens", None)
    cached = value if type(value) is int or value is None else as_int(value)
    if cached is not None:
        facts.cache_read = cached
    value = getattr(details, "cache_write_tokens", None)
    written = value if type(value) is int or value is None else as_int(value)
    if written is not None:
        facts.cache_creation = written


def _apply_chat_usage(usage: Any, facts: CallFacts) -> None:
    if usage is None:
        return
    value = getattr(usage, "prompt_tokens", None)
    facts.input_tokens = value if type(value) is int or value is None else as_int(value)
    value = getattr(usage, "completion_tokens", None)
    facts.output_tokens = value if type(value) is int or value is None else as_int(value)
    _apply_details(facts, getattr(usage, "prompt_tokens_details", None))
    out_details = getattr(usage, "completion_tokens_details", None)
    if out_details is not None:
        value = getattr(out_details, "reasoning_tokens", None)
        facts.reasoning_tokens = value if type(value) is int or value is None else as_int(value)


def _apply_responses_usage(usage: Any, facts: CallFacts) -> None:
    if usage is None:
        return
    facts.input_tokens = as_int(getattr(usage, "input_tokens", None))
    facts.output_tokens = as_int(getattr(usage, "output_tokens", None))
    _apply_details(facts, getattr(usage, "input_tokens_details", None))
    out_details = getattr(usage, "output_tokens_details", None)
    if out_details is not None:
        facts.reasoning_tokens = as_int(getattr(out_details, "reasoning_tokens", None))


def _format_spec(fmt: Mapping[str, Any] | None, schema: Any) -> StructuredSpec | None:
    kind = fmt.get("type") if fmt is not None else None
    if kind == "json_schema":
        return tuple.__new__(StructuredSpec, ("json_schema", schema, None))
    if kind == "json_object":
        return StructuredSpec("json_object")
    return None


def _forced_tool(body: Mapping[str, Any]) -> StructuredSpec | None:
    """A forced function call used as a schema: `{"type": "function", "function": {"name": ...}}` (Chat) or
    `{"type": "function", "name": ...}` (Responses)."""
    choice = body.get("tool_choice")
    if choice is not None and type(choice) is not dict:  # `mapping` only for what is neither a dict nor absent
        choice = mapping(choice)
    if choice is None or choice.get("type") != "function":
        return None
    function = mapping(choice.get("function"))
    name = (function if function is not None else choice).get("name")
    return StructuredSpec("tool", tool_name=name) if isinstance(name, str) else None


def _chat_schema(body: Mapping[str, Any]) -> StructuredSpec | None:
    fmt = body.get("response_format")
    if fmt is not None and type(fmt) is not dict:  # `mapping` only for what is neither a dict nor absent
        fmt = mapping(fmt)
    if fmt is None:
        return _forced_tool(body)
    json_schema = mapping(fmt.get("json_schema"))
    spec = _format_spec(fmt, json_schema.get("schema") if json_schema is not None else None)
    return spec or _forced_tool(body)


class ChatCompletionsEndpoint:
    operation = semconv.OP_CHAT
    surface = "chat.completions"

    def read_request(self, body: Mapping[str, Any], keep_content: bool) -> RequestInfo:
        return RequestInfo(  # positional: this runs on every call
            _model(body),
            request_params(body, _CHAT_PARAMS),
            body.get("stream") is True,
            tool_definitions(body),
            _chat_schema(body),
            body if keep_content else None,
        )

    def read_response(self, completion: Any, facts: CallFacts) -> None:
        facts.response_id = getattr(completion, "id", None)
        facts.response_model = getattr(completion, "model", None)
        facts.service_tier = getattr(completion, "service_tier", None)
        facts.system_fingerprint = getattr(completion, "system_fingerprint", None)
        _apply_chat_usage(getattr(completion, "usage", None), facts)
        reasons: list[str] = []
        parts = facts.output_parts
        arguments = facts.tool_arguments
        for choice in getattr(completion, "choices", None) or ():
            reason = getattr(choice, "finish_reason", None)
            if isinstance(reason, str):
                reasons.append(reason)
            message = getattr(choice, "message", None)
            if message is None:
                continue
            if getattr(message, "refusal", None):
                facts.refusal = True
            if parts is not None:
                content = getattr(message, "content", None)
                if isinstance(content, str):
                    parts.append(content)
            for tool_call in getattr(message, "tool_calls", None) or ():
                function = getattr(tool_call, "function", None)
                facts.add_tool_call(getattr(function, "name", None), getattr(tool_call, "id", None))
                if arguments is not None:
                    arguments.append(getattr(function, "arguments", "") or "")
        # `finish_reasons(reasons)`; one reason already seen is its shared tuple, without the calls
        facts.finish_reasons = (SHARED_REASONS.get(reasons[0]) if len(reasons) == 1 else None) or finish_reasons(
            reasons
        )

    def stream_recorder(self, facts: CallFacts) -> StreamRecorder:
        parts = facts.output_parts
        arguments = facts.tool_arguments
        # (choice index, tool index) -> fragments, in first-seen order
        tool_fragments: dict[tuple[int, int], list[str]] = {}
        reasons: dict[int, str] = {}
        perf = time.perf_counter

        def record(chunk: Any) -> None:
            if facts.response_id is None:
                facts.response_id = chunk.id
                facts.response_model = chunk.model
                facts.system_fingerprint = getattr(chunk, "system_fingerprint", None)
                facts.service_tier = getattr(chunk, "service_tier", None)
            for choice in chunk.choices:
                delta = choice.delta
                if delta is not None:
                    content = delta.content
                    tool_calls = delta.tool_calls
                    refusal = getattr(delta, "refusal", None)
                    if content or tool_calls or refusal:
                        mark_content_chunk(facts, perf())
                        if content and parts is not None:
                            parts.append(content)
                        if refusal:
                            facts.refusal = True
                        if tool_calls:
                            for tool_call in tool_calls:
                                function = tool_call.function
                                key = (choice.index, tool_call.index)
                                fragments = tool_fragments.get(key)
                                if fragments is None:
                                    fragments = tool_fragments[key] = []
                                    facts.add_tool_call(getattr(function, "name", None), tool_call.id)
                                if function is not None and function.arguments:
                                    fragments.append(function.arguments)
                if choice.finish_reason:
                    reasons[choice.index] = choice.finish_reason
                    facts.finish_reasons = finish_reasons([reasons[i] for i in sorted(reasons)])
                    if arguments is not None and tool_fragments:
                        arguments[:] = ["".join(f) for f in tool_fragments.values()]
            usage = chunk.usage
            if usage is not None:
                _apply_chat_usage(usage, facts)

        return record


def _responses_schema(body: Mapping[str, Any]) -> StructuredSpec | None:
    text = mapping(body.get("text"))
    fmt = mapping(text.get("format")) if text is not None else None
    spec = _format_spec(fmt, fmt.get("schema") if fmt is not None else None)
    return spec or _forced_tool(body)


_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


class ResponsesEndpoint:
    operation = semconv.OP_CHAT
    surface = "responses"

    def read_request(self, body: Mapping[str, Any], keep_content: bool) -> RequestInfo:
        attrs = request_params(body, _RESPONSES_PARAMS)
        reasoning = body.get("reasoning")
        if isinstance(reasoning, Mapping) and isinstance(reasoning.get("effort"), str):
            attrs["openai.request.reasoning_effort"] = reasoning["effort"]
        return RequestInfo(
            _model(body),
            attrs,
            body.get("stream") is True,
            tool_definitions(body),
            _responses_schema(body),
            body if keep_content else None,
        )

    def read_response(self, response: Any, facts: CallFacts) -> None:
        facts.response_id = getattr(response, "id", None)
        facts.response_model = getattr(response, "model", None)
        facts.service_tier = getattr(response, "service_tier", None)
        _apply_responses_usage(getattr(response, "usage", None), facts)
        parts = facts.output_parts
        facts.clear_tool_calls()
        arguments = facts.tool_arguments
        for item in getattr(response, "output", None) or ():
            kind = getattr(item, "type", None)
            if kind == "function_call":
                facts.add_tool_call(getattr(item, "name", None), getattr(item, "call_id", None))
                if arguments is not None:
                    arguments.append(getattr(item, "arguments", "") or "")
            elif kind == "message":
                for part in getattr(item, "content", None) or ():
                    ptype = getattr(part, "type", None)
                    if ptype == "refusal":
                        facts.refusal = True
                    elif ptype == "output_text" and parts is not None and facts.chunks == 0:
                        parts.append(getattr(part, "text", "") or "")
        status = getattr(response, "status", None)
        if status == "completed":
            facts.finish_reasons = single_reason("tool_calls" if facts.tool_names else "stop")
        elif status == "incomplete":
            details = getattr(response, "incomplete_details", None)
            reason = getattr(details, "reason", None) or "incomplete"
            facts.finish_reasons = single_reason(_INCOMPLETE_REASONS.get(reason, reason))
        elif isinstance(status, str):
            facts.finish_reasons = single_reason(status)

    def stream_recorder(self, facts: CallFacts) -> StreamRecorder:
        parts = facts.output_parts
        perf = time.perf_counter
        read_final = self.read_response

        def record(event: Any) -> None:
            kind = event.type
            if kind == "response.output_text.delta":
                mark_content_chunk(facts, perf())
                if parts is not None:
                    parts.append(event.delta)
            elif kind in ("response.function_call_arguments.delta", "response.refusal.delta"):
                mark_content_chunk(facts, perf())
            elif kind == "response.output_item.added":
                item = event.item
                if getattr(item, "type", None) == "function_call":
                    facts.add_tool_call(getattr(item, "name", None), getattr(item, "call_id", None))
            elif kind == "response.created":
                response = event.response
                facts.response_id = response.id
                facts.response_model = response.model
            elif kind in ("response.completed", "response.incomplete", "response.failed"):
                # The final event carries the whole response: it is authoritative for usage and tool calls.
                read_final(event.response, facts)

        return record


class EmbeddingsEndpoint:
    operation = semconv.OP_EMBEDDINGS
    surface = "embeddings"

    def read_request(self, body: Mapping[str, Any], keep_content: bool) -> RequestInfo:
        return RequestInfo(_model(body), request_params(body, _EMBEDDINGS_PARAMS))

    def read_response(self, response: Any, facts: CallFacts) -> None:
        facts.response_model = getattr(response, "model", None)
        usage = getattr(response, "usage", None)
        if usage is not None:
            facts.input_tokens = as_int(getattr(usage, "prompt_tokens", None))

    def stream_recorder(self, facts: CallFacts) -> StreamRecorder:  # pragma: no cover - embeddings never stream
        return lambda _event: None


def plugin() -> ProviderPlugin | None:
    base = "openai._base_client"
    if optional_attr(base, "SyncAPIClient") is None:
        return None
    chat = ChatCompletionsEndpoint()
    responses = ResponsesEndpoint()
    embeddings = EmbeddingsEndpoint()
    return ProviderPlugin(
        name="openai",
        base_client_module=base,
        endpoints={
            "/chat/completions": chat,
            "/responses": responses,
            "/embeddings": embeddings,
        },
        client_provider_names={"AzureOpenAI": "azure.ai.openai", "AsyncAzureOpenAI": "azure.ai.openai"},
        sync_streams=present_types(optional_attr("openai._streaming", "Stream")),
        async_streams=present_types(optional_attr("openai._streaming", "AsyncStream")),
        response_wrappers=present_types(
            optional_attr("openai._response", "BaseAPIResponse"),
            optional_attr("openai._legacy_response", "LegacyAPIResponse"),
        ),
    )
