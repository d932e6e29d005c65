"""OpenAI Chat Completions: `POST /v1/chat/completions`, plain and streamed.

Streams follow the real chunk sequence: a role-only first chunk, content (or
refusal, or tool-call argument) deltas, a chunk carrying `finish_reason`, and -
only with `stream_options.include_usage` - a final `choices: []` chunk with usage
(every earlier chunk then has `"usage": null`), then `data: [DONE]`.
"""

from __future__ import annotations

from firsttoken.testing.fake_provider.context import JsonObject, RequestContext, WireResult
from firsttoken.testing.fake_provider.errors import ApiError
from firsttoken.testing.fake_provider.generation import OutputPlan, OutputRequest, ToolCall, ToolSpec, plan_output
from firsttoken.testing.fake_provider.openai_common import (
    INSTRUCTION_ROLES,
    cached_prefix_tokens,
    content_segments,
    reasoning_details,
)
from firsttoken.testing.fake_provider.sse import DONE, StreamEvent, content, meta
from firsttoken.testing.fake_provider.tokens import Segment, json_segment, total_tokens

_FINISH_REASONS = {"end": "stop", "max_tokens": "length", "tool_use": "tool_calls", "refusal": "stop"}


def handle_chat_completions(ctx: RequestContext) -> WireResult:
    """Create a chat completion: a `ChatCompletion`, or its chunk stream."""
    model = ctx.response_model()
    prefix, rest = _prompt_segments(ctx)
    plan = plan_output(_output_request(ctx), ctx.controls, ctx.rng)
    cached = cached_prefix_tokens(ctx, "chat", prefix)
    prompt_tokens = total_tokens(prefix) + total_tokens(rest)
    usage: JsonObject = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": prompt_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            **reasoning_details(plan),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    base: JsonObject = {
        "id": ctx.ids.chat_completion(),
        "created": ctx.created(),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": ctx.ids.fingerprint(),
    }
    calls = [(ctx.ids.openai_call(), call) for call in plan.tool_calls]
    if ctx.stream:
        options = ctx.optional("stream_options", dict) or {}
        include_usage = options.get("include_usage") is True
        return WireResult(events=tuple(_stream(base, plan, calls, usage if include_usage else None)))
    message: JsonObject = {
        "role": "assistant",
        "content": plan.text if plan.text_chunks else None,
        "refusal": plan.refusal or None,
        "annotations": [],
    }
    if calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call_id, call in calls
        ]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": _FINISH_REASONS[plan.stop]}
    payload = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
    return WireResult(payload=payload, generated_tokens=plan.output_tokens)


def _prompt_segments(ctx: RequestContext) -> tuple[list[Segment], list[Segment]]:
    """Split the prompt into the automatically cached prefix (tools + leading system/developer
    messages) and the rest."""
    prefix = [json_segment(tool) for tool in ctx.optional("tools", list) or []]
    rest: list[Segment] = []
    messages = ctx.require("messages", list)
    if not messages:
        raise ApiError(400, "messages: at least one message is required", param="messages")
    in_prefix = True
    for message in messages:
        if not isinstance(message, dict) or "role" not in message:
            raise ApiError(400, "messages: each message needs a `role`", param="messages")
        in_prefix = in_prefix and message["role"] in INSTRUCTION_ROLES
        segments = content_segments(message.get("content"))
        segments.extend(json_segment(call) for call in message.get("tool_calls") or [])
        (prefix if in_prefix else rest).extend(segments)
    return prefix, rest


def _output_request(ctx: RequestContext) -> OutputRequest:
    tools = []
    for tool in ctx.optional("tools", list) or []:
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            tools.append(ToolSpec(function["name"], function.get("parameters") or {"type": "object"}))
    response_format = ctx.optional("response_format", dict) or {}
    schema = None
    if response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema") or {}
        schema = json_schema.get("schema") if isinstance(json_schema.get("schema"), dict) else {}
    limit = ctx.optional("max_completion_tokens", int) or ctx.optional("max_tokens", int)
    return OutputRequest(
        tools=tuple(tools),
        schema=schema,
        json_mode=response_format.get("type") == "json_object",
        max_output_tokens=limit,
    )


def _stream(
    base: JsonObject, plan: OutputPlan, calls: list[tuple[str, ToolCall]], usage: JsonObject | None
) -> list[StreamEvent]:
    head: JsonObject = {**base, "object": "chat.completion.chunk"}
    if usage is not None:
        head["usage"] = None

    def chunk(delta: JsonObject, finish_reason: str | None = None) -> JsonObject:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

    first: JsonObject = {"role": "assistant", "content": "", "refusal": None}
    if plan.refusal_chunks:
        first = {"role": "assistant", "content": None, "refusal": ""}
    events = [meta(chunk(first))]
    events.extend(content(chunk({"content": piece})) for piece in plan.text_chunks)
    events.extend(content(chunk({"refusal": piece})) for piece in plan.refusal_chunks)
    for index, (call_id, call) in enumerate(calls):
        opening = {"index": index, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        events.append(content(chunk({"tool_calls": [opening]})))
        for fragment in call.fragments:
            events.append(content(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})))
    events.append(meta(chunk({}, _FINISH_REASONS[plan.stop])))
    if usage is not None:
        events.append(meta({**head, "choices": [], "usage": usage}))
    events.append(StreamEvent(DONE))
    return events
