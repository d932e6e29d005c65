"""Anthropic Messages API: `POST /v1/messages` (plain, streamed, beta) and `/v1/messages/count_tokens`.

Prompt caching follows Anthropic's explicit model: the prompt is tools, then
system, then messages; a `cache_control` on a block ends a cacheable prefix with
its TTL, and a top-level `cache_control` makes the whole prompt one. Usage
reports `input_tokens` *excluding* cache reads and writes, as the real API does.
"""

from __future__ import annotations

import json
from typing import Any

from firsttoken.testing.fake_provider.cache import CacheUsage
from firsttoken.testing.fake_provider.context import JsonObject, RequestContext, WireResult
from firsttoken.testing.fake_provider.errors import ApiError
from firsttoken.testing.fake_provider.generation import OutputPlan, OutputRequest, ToolCall, ToolSpec, plan_output
from firsttoken.testing.fake_provider.sse import StreamEvent, content, meta
from firsttoken.testing.fake_provider.tokens import Segment, json_segment, text_segment, total_tokens

_STOP_REASONS = {"end": "end_turn", "max_tokens": "max_tokens", "tool_use": "tool_use", "refusal": "refusal"}


def handle_messages(ctx: RequestContext) -> WireResult:
    """Create a message: a `Message` object, or the message event stream."""
    model = ctx.response_model()
    max_tokens = ctx.require("max_tokens", int)
    if max_tokens < 1:
        raise ApiError(400, "max_tokens: must be at least 1", param="max_tokens")
    segments = prompt_segments(ctx)
    plan = plan_output(_output_request(ctx, max_tokens), ctx.controls, ctx.rng)
    cache = ctx.prompt_cache(f"anthropic|{ctx.body['model']}", segments, _ttl(ctx.body.get("cache_control")))
    usage = _usage(total_tokens(segments), cache, plan)
    message_id = ctx.ids.anthropic("msg")
    blocks = _content_blocks(ctx, plan)
    if ctx.stream:
        return WireResult(events=tuple(_stream(message_id, model, blocks, plan, usage)))
    message = _message(message_id, model, [block for block, _ in blocks], usage)
    message.update(_stop_fields(plan))
    return WireResult(payload=message, generated_tokens=plan.output_tokens)


def handle_count_tokens(ctx: RequestContext) -> WireResult:
    """Count tokens: the same total `/v1/messages` reports as input + cache read + cache write."""
    ctx.require("model", str)
    return WireResult(payload={"input_tokens": total_tokens(prompt_segments(ctx))})


def prompt_segments(ctx: RequestContext) -> list[Segment]:
    """The prompt in cache order (tools, system, messages), one segment per block."""
    segments: list[Segment] = []
    for tool in ctx.optional("tools", list) or []:
        segments.append(_block_segment(tool) if isinstance(tool, dict) else json_segment(tool))
    system = ctx.optional("system", (str, list))
    if isinstance(system, str):
        segments.append(text_segment(system))
    elif isinstance(system, list):
        segments.extend(_block_segment(block) for block in system)
    messages = ctx.require("messages", list)
    if not messages:
        raise ApiError(400, "messages: at least one message is required", param="messages")
    for message in messages:
        body = message.get("content") if isinstance(message, dict) else None
        if isinstance(body, str):
            segments.append(text_segment(body))
        elif isinstance(body, list):
            segments.extend(_block_segment(block) for block in body)
        else:
            raise ApiError(400, "messages: each message needs `content` (a string or a list of blocks)")
    return segments


def _block_segment(block: Any) -> Segment:
    if not isinstance(block, dict):
        return json_segment(block)
    ttl = _ttl(block.get("cache_control"))
    rest = {key: value for key, value in block.items() if key != "cache_control"}
    if rest.get("type") == "text" and isinstance(rest.get("text"), str):
        return text_segment(rest["text"], ttl)
    if rest.get("type") == "thinking" and isinstance(rest.get("thinking"), str):
        return text_segment(rest["thinking"], ttl)
    return json_segment(rest, ttl)


def _ttl(cache_control: Any) -> str | None:
    if not isinstance(cache_control, dict):
        return None
    ttl = cache_control.get("ttl") or "5m"
    if ttl not in ("5m", "1h"):
        raise ApiError(400, f"cache_control.ttl: Input should be '5m' or '1h', got {ttl!r}")
    return str(ttl)


def _output_request(ctx: RequestContext, max_tokens: int) -> OutputRequest:
    tools = tuple(
        ToolSpec(str(tool["name"]), tool["input_schema"])
        for tool in ctx.optional("tools", list) or []
        if isinstance(tool, dict) and isinstance(tool.get("input_schema"), dict) and "name" in tool
    )
    schema = None
    output_config = ctx.optional("output_config", dict) or {}
    for fmt in (output_config.get("format"), ctx.body.get("output_format")):
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            schema = fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {}
            break
    thinking = ctx.optional("thinking", dict) or {}
    return OutputRequest(
        tools=tools,
        schema=schema,
        max_output_tokens=max_tokens,
        thinking=thinking.get("type") in ("enabled", "adaptive"),
    )


def _usage(prompt_tokens: int, cache: CacheUsage, plan: OutputPlan) -> JsonObject:
    usage: JsonObject = {
        "input_tokens": prompt_tokens - cache.read_tokens - cache.written_tokens,
        "cache_creation_input_tokens": cache.written_tokens,
        "cache_read_input_tokens": cache.read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.written_for("5m"),
            "ephemeral_1h_input_tokens": cache.written_for("1h"),
        },
        "output_tokens": plan.output_tokens,
        "service_tier": "standard",
    }
    if plan.thinking_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": plan.thinking_tokens}
    return usage


def _tool_input(call: ToolCall) -> Any:
    """Tool input as an object; a malformed call cannot be one, so its raw text is passed through."""
    try:
        return json.loads(call.arguments)
    except ValueError:
        return call.arguments


# A block is (final block as in a Message, the deltas that build it when streamed).
_Block = tuple[JsonObject, list[JsonObject]]


def _content_blocks(ctx: RequestContext, plan: OutputPlan) -> list[_Block]:
    blocks: list[_Block] = []
    if plan.thinking_chunks:
        signature = ctx.ids.signature()
        deltas = [{"type": "thinking_delta", "thinking": chunk} for chunk in plan.thinking_chunks]
        deltas.append({"type": "signature_delta", "signature": signature})
        blocks.append(({"type": "thinking", "thinking": plan.thinking, "signature": signature}, deltas))
    text_chunks = plan.refusal_chunks or plan.text_chunks
    if text_chunks:
        deltas = [{"type": "text_delta", "text": chunk} for chunk in text_chunks]
        blocks.append(({"type": "text", "text": "".join(text_chunks), "citations": None}, deltas))
    for call in plan.tool_calls:
        block = {"type": "tool_use", "id": ctx.ids.anthropic("toolu"), "name": call.name, "input": _tool_input(call)}
        deltas = [{"type": "input_json_delta", "partial_json": fragment} for fragment in call.fragments]
        blocks.append((block, deltas))
    return blocks


def _message(message_id: str, model: str, content_blocks: list[JsonObject], usage: JsonObject) -> JsonObject:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content_blocks,
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
        "container": None,
        "usage": usage,
    }


def _stop_fields(plan: OutputPlan) -> JsonObject:
    details = {"type": "refusal", "category": None, "explanation": None} if plan.stop == "refusal" else None
    return {"stop_reason": _STOP_REASONS[plan.stop], "stop_sequence": None, "stop_details": details}


def _empty_block(block: JsonObject) -> JsonObject:
    """The block as `content_block_start` announces it: text and input still empty."""
    if block["type"] == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if block["type"] == "tool_use":
        return {**block, "input": {}}
    return {**block, "text": ""}


def _stream(
    message_id: str, model: str, blocks: list[_Block], plan: OutputPlan, usage: JsonObject
) -> list[StreamEvent]:
    start_usage = {**usage, "output_tokens": 1}
    start_usage.pop("output_tokens_details", None)
    events = [meta({"type": "message_start", "message": _message(message_id, model, [], start_usage)}, "message_start")]
    for index, (block, deltas) in enumerate(blocks):
        start = {"type": "content_block_start", "index": index, "content_block": _empty_block(block)}
        events.append(meta(start, "content_block_start"))
        if index == 0:
            events.append(meta({"type": "ping"}, "ping"))
        for delta in deltas:
            event = {"type": "content_block_delta", "index": index, "delta": delta}
            is_token = delta["type"] != "signature_delta"
            events.append(content(event, "content_block_delta") if is_token else meta(event, "content_block_delta"))
        events.append(meta({"type": "content_block_stop", "index": index}, "content_block_stop"))
    delta_usage = {key: usage[key] for key in usage if key not in ("cache_creation", "service_tier")}
    events.append(meta({"type": "message_delta", "delta": _stop_fields(plan), "usage": delta_usage}, "message_delta"))
    events.append(meta({"type": "message_stop"}, "message_stop"))
    return events
