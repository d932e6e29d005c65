"""Opt-in content capture (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`): prompts, outputs, tool calls.

Off by default. When on, messages are normalised to the GenAI conventions' shape (role + typed parts: text,
tool_call, tool_call_response, reasoning; binary parts keep only their type) and written as JSON on the span
(`SPAN_ONLY`), as a `gen_ai.client.inference.operation.details` span event (`EVENT_ONLY`), or both. Each value is
capped at `content_max_chars` (marked `firsttoken.content.truncated`). API keys and headers are never read: only the
request body is. One-shot iterables in the request are never iterated (that would consume the caller's data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.util.types import AttributeValue

from firsttoken import semconv
from firsttoken.config import CaptureMode, Settings

if TYPE_CHECKING:
    from firsttoken.core.call import LLMCall
    from firsttoken.core.runtime import Stage

TRUNCATED = "firsttoken.content.truncated"
_BINARY_PARTS = frozenset(("image", "document", "file", "input_image", "input_file", "input_audio", "image_url"))


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _seq(value: Any) -> Sequence[Any]:
    """Only real sequences: a generator handed to the SDK must not be consumed by firsttoken."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return value
    return ()


def _jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    return value


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def _tool_response(call_id: Any, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def _text_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in _seq(content):
        kind = _get(block, "type")
        if kind in ("text", "input_text", "output_text"):
            parts.append({"type": "text", "content": _get(block, "text")})
        elif kind in ("tool_use", "server_tool_use"):
            parts.append(
                {
                    "type": "tool_call",
                    "id": _get(block, "id"),
                    "name": _get(block, "name"),
                    "arguments": _get(block, "input"),
                }
            )
        elif kind == "tool_result":
            parts.append(_tool_response(_get(block, "tool_use_id"), _jsonable(_get(block, "content"))))
        elif kind in ("thinking", "redacted_thinking"):
            parts.append({"type": "reasoning", "content": _get(block, "thinking")})
        elif kind == "refusal":
            parts.append({"type": "refusal", "content": _get(block, "refusal")})
        elif kind in _BINARY_PARTS or kind is not None:
            parts.append({"type": str(kind)})
    return parts


def input_messages(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions parts, messages) from an Anthropic, Chat Completions or Responses request body."""
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for key in ("system", "instructions"):
        if body.get(key) is not None:
            system.extend(_text_parts(body[key]))
    raw = body.get("messages")
    if raw is None:
        raw = body.get("input")
        if isinstance(raw, str):
            return system, [{"role": "user", "parts": [{"type": "text", "content": raw}]}]
    for message in _seq(raw):
        role = _get(message, "role")
        kind = _get(message, "type")
        if kind == "function_call":
            messages.append(
                {
                    "role": "assistant",
                    "parts": [_tool_call(_get(message, "call_id"), _get(message, "name"), _get(message, "arguments"))],
                }
            )
            continue
        if kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": _get(message, "call_id"),
                            "response": _get(message, "output"),
                        }
                    ],
                }
            )
            continue
        if role in ("system", "developer"):
            system.extend(_text_parts(_get(message, "content")))
            continue
        parts = _text_parts(_get(message, "content"))
        for tool_call in _seq(_get(message, "tool_calls")):
            function = _get(tool_call, "function")
            parts.append(_tool_call(_get(tool_call, "id"), _get(function, "name"), _get(function, "arguments")))
        if role == "tool":
            parts = [
                {
                    "type": "tool_call_response",
                    "id": _get(message, "tool_call_id"),
                    "response": _get(message, "content"),
                }
            ]
        messages.append({"role": role, "parts": parts})
    return system, messages


def output_messages(call: LLMCall) -> list[dict[str, Any]]:
    facts = call.facts
    parts: list[dict[str, Any]] = []
    text = facts.output_text()
    if text:
        parts.append({"type": "text", "content": text})
    arguments = facts.tool_arguments or []
    for i, name in enumerate(facts.tool_names):
        call_id = facts.tool_ids[i] if i < len(facts.tool_ids) else None
        parts.append(_tool_call(call_id, name, arguments[i] if i < len(arguments) else None))
    finish = facts.finish_reasons[0] if facts.finish_reasons else None
    return [{"role": "assistant", "parts": parts, "finish_reason": finish}]


def _dump(value: Any, limit: int, attrs: dict[str, AttributeValue]) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    if len(text) > limit:
        attrs[TRUNCATED] = True
        return text[:limit]
    return text


def content_stages(settings: Settings) -> tuple[list[Stage], list[Stage]]:
    mode = settings.capture
    if mode is CaptureMode.NO_CONTENT:
        return [], []
    limit = settings.content_max_chars

    def on_start(call: LLMCall, attrs: dict[str, AttributeValue]) -> None:
        body = call.request.content
        if body is None or not mode.on_span:
            return
        system, messages = input_messages(body)
        if messages:
            attrs[semconv.INPUT_MESSAGES] = _dump(messages, limit, attrs)
        if system:
            attrs[semconv.SYSTEM_INSTRUCTIONS] = _dump(system, limit, attrs)

    def on_end(call: LLMCall, attrs: dict[str, AttributeValue]) -> None:
        if call.request.content is None:
            return
        output = _dump(output_messages(call), limit, attrs)
        if mode.on_span:
            attrs[semconv.OUTPUT_MESSAGES] = output
        if mode.as_event:
            event: dict[str, AttributeValue] = {semconv.OUTPUT_MESSAGES: output}
            system, messages = input_messages(call.request.content)
            if messages:
                event[semconv.INPUT_MESSAGES] = _dump(messages, limit, attrs)
            if system:
                event[semconv.SYSTEM_INSTRUCTIONS] = _dump(system, limit, attrs)
            call.span.add_event(semconv.EVENT_INFERENCE_DETAILS, event)

    return [on_start], [on_end]
