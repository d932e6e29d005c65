"""OpenAI Responses API: `POST /v1/responses`, plain and streamed.

The stream is the real typed event sequence with increasing `sequence_number`s:
`response.created`, `response.in_progress`, per output item `output_item.added` ->
(`content_part.added` -> text/refusal deltas -> `.done` -> `content_part.done`) or
function-call argument deltas -> `output_item.done`, and finally
`response.completed` (or `response.incomplete` when cut by `max_output_tokens`)
carrying the full response with usage. The `openai` stream helpers check item
identities across these events, so ids are stable between `added` and `done`.
"""

from __future__ import annotations

from typing import Any

from firsttoken.testing.fake_provider.context import JsonObject, RequestContext, WireResult
from firsttoken.testing.fake_provider.generation import OutputPlan, OutputRequest, ToolSpec, plan_output
from firsttoken.testing.fake_provider.openai_common import (
    INSTRUCTION_ROLES,
    cached_prefix_tokens,
    content_segments,
    reasoning_details,
)
from firsttoken.testing.fake_provider.sse import StreamEvent, content, meta
from firsttoken.testing.fake_provider.tokens import Segment, json_segment, text_segment, total_tokens


def handle_responses(ctx: RequestContext) -> WireResult:
    """Create a response: a `Response` object, or its event stream."""
    model = ctx.response_model()
    prefix, rest = _prompt_segments(ctx)
    plan = plan_output(_output_request(ctx), ctx.controls, ctx.rng)
    cached = cached_prefix_tokens(ctx, "responses", prefix)
    input_tokens = total_tokens(prefix) + total_tokens(rest)
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": reasoning_details(plan),
        "total_tokens": input_tokens + plan.output_tokens,
    }
    items = _output_items(ctx, plan)
    status = "incomplete" if plan.stop == "max_tokens" else "completed"
    final = _response(ctx, model, [item for item, _ in items], status, usage)
    if not ctx.stream:
        return WireResult(payload=final, generated_tokens=plan.output_tokens)
    return WireResult(events=tuple(_stream(_response(ctx, model, [], "in_progress", None, final["id"]), items, final)))


def _prompt_segments(ctx: RequestContext) -> tuple[list[Segment], list[Segment]]:
    """The automatically cached prefix (instructions, tools, leading system/developer input
    messages) and the rest of the input."""
    prefix: list[Segment] = []
    instructions = ctx.optional("instructions", (str, list))
    if isinstance(instructions, str):
        prefix.append(text_segment(instructions))
    elif isinstance(instructions, list):
        prefix.extend(_item_segments(item) for item in instructions)
    prefix.extend(json_segment(tool) for tool in ctx.optional("tools", list) or [])
    rest: list[Segment] = []
    raw_input = ctx.optional("input", (str, list))
    items: list[Any] = [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input or []
    in_prefix = True
    for item in items:
        in_prefix = in_prefix and isinstance(item, dict) and item.get("role") in INSTRUCTION_ROLES
        (prefix if in_prefix else rest).append(_item_segments(item))
    return prefix, rest


def _item_segments(item: Any) -> Segment:
    """One input item as one segment (a message's parts are joined, other items go by JSON)."""
    if isinstance(item, dict) and "content" in item and item.get("type", "message") == "message":
        parts = content_segments(item["content"])
        return Segment("\x1f".join(p.content for p in parts), max(1, total_tokens(parts)))
    if isinstance(item, dict) and item.get("type") == "function_call_output" and isinstance(item.get("output"), str):
        return text_segment(item["output"])
    return json_segment(item)


def _output_request(ctx: RequestContext) -> OutputRequest:
    tools = tuple(
        ToolSpec(tool["name"], tool.get("parameters") or {"type": "object"})
        for tool in ctx.optional("tools", list) or []
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("name"), str)
    )
    fmt = (ctx.optional("text", dict) or {}).get("format") or {}
    schema = None
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {}
    return OutputRequest(
        tools=tools,
        schema=schema,
        json_mode=fmt.get("type") == "json_object",
        max_output_tokens=ctx.optional("max_output_tokens", int),
    )


# An output item is (final item, the stream events that build it given its output_index).
_Item = tuple[JsonObject, list[tuple[str, JsonObject, bool]]]


def _output_items(ctx: RequestContext, plan: OutputPlan) -> list[_Item]:
    items: list[_Item] = []
    if plan.text_chunks or plan.refusal_chunks:
        items.append(_message_item(ctx, plan))
    for call in plan.tool_calls:
        item_id = ctx.ids.openai_hex("fc")
        item = {
            "type": "function_call",
            "id": item_id,
            "call_id": ctx.ids.openai_call(),
            "name": call.name,
            "arguments": call.arguments,
            "status": "completed",
        }
        events: list[tuple[str, JsonObject, bool]] = [
            ("response.output_item.added", {"item": {**item, "arguments": "", "status": "in_progress"}}, False)
        ]
        events.extend(
            ("response.function_call_arguments.delta", {"item_id": item_id, "delta": fragment}, True)
            for fragment in call.fragments
        )
        done = {"item_id": item_id, "name": call.name, "arguments": call.arguments}
        events.append(("response.function_call_arguments.done", done, False))
        events.append(("response.output_item.done", {"item": item}, False))
        items.append((item, events))
    return items


def _message_item(ctx: RequestContext, plan: OutputPlan) -> _Item:
    item_id = ctx.ids.openai_hex("msg")
    status = "incomplete" if plan.stop == "max_tokens" else "completed"
    if plan.refusal_chunks:
        kind, field, chunks = "refusal", "refusal", plan.refusal_chunks
        empty: JsonObject = {"type": "refusal", "refusal": ""}
        part: JsonObject = {"type": "refusal", "refusal": plan.refusal}
    else:
        kind, field, chunks = "output_text", "text", plan.text_chunks
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        part = {**empty, "text": plan.text}
    item = {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": [part]}
    where = {"item_id": item_id, "content_index": 0}
    extra: JsonObject = {"logprobs": []} if kind == "output_text" else {}
    delta_name = "response.output_text.delta" if kind == "output_text" else "response.refusal.delta"
    done_name = "response.output_text.done" if kind == "output_text" else "response.refusal.done"
    events: list[tuple[str, JsonObject, bool]] = [
        ("response.output_item.added", {"item": {**item, "status": "in_progress", "content": []}}, False),
        ("response.content_part.added", {**where, "part": empty}, False),
    ]
    events.extend((delta_name, {**where, "delta": chunk, **extra}, True) for chunk in chunks)
    events.append((done_name, {**where, field: "".join(chunks), **extra}, False))
    events.append(("response.content_part.done", {**where, "part": part}, False))
    events.append(("response.output_item.done", {"item": item}, False))
    return item, events


def _response(
    ctx: RequestContext,
    model: str,
    output: list[JsonObject],
    status: str,
    usage: JsonObject | None,
    response_id: str | None = None,
) -> JsonObject:
    body = ctx.body
    text_config: JsonObject = body["text"] if isinstance(body.get("text"), dict) else {}
    return {
        "id": response_id or ctx.ids.openai_hex("resp"),
        "object": "response",
        "created_at": ctx.created(),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {**text_config, "format": text_config.get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _stream(initial: JsonObject, items: list[_Item], final: JsonObject) -> list[StreamEvent]:
    sequence = 0

    def event(name: str, data: JsonObject, is_content: bool = False) -> StreamEvent:
        nonlocal sequence
        payload = {"type": name, **data, "sequence_number": sequence}
        sequence += 1
        return content(payload, name) if is_content else meta(payload, name)

    events = [event("response.created", {"response": initial}), event("response.in_progress", {"response": initial})]
    for output_index, (_, item_events) in enumerate(items):
        for name, data, is_content in item_events:
            events.append(event(name, {**data, "output_index": output_index}, is_content))
    final_name = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    events.append(event(final_name, {"response": final}))
    return events
