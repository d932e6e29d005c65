"""What the fake model "says", decided once and independently of any wire format.

Each wire module extracts an `OutputRequest` (tools, requested schema, token
limit) from its request body, `plan_output` turns it plus the controls into an
`OutputPlan`, and the wire module renders that plan as a response object or as a
stream. One plan, several renderings: the three APIs agree on content and counts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from firsttoken.testing.fake_provider.controls import Controls
from firsttoken.testing.fake_provider.errors import ApiError
from firsttoken.testing.fake_provider.schema_values import SchemaValues
from firsttoken.testing.fake_provider.tokens import lorem_chunks, lorem_text, split_fragments, split_words

DEFAULT_THINKING_TOKENS = 8
"""Thinking length when a request enables thinking but `x-fake-thinking` is absent."""

DEFAULT_REFUSAL = "I'm sorry, but I can't help with that request."

StopKind = Literal["end", "max_tokens", "tool_use", "refusal"]


@dataclass(frozen=True)
class ToolSpec:
    """A callable tool of the request: its name and the JSON schema of its arguments."""

    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class OutputRequest:
    """The parts of a request body that shape the output, in provider-neutral form."""

    tools: tuple[ToolSpec, ...] = ()
    schema: Mapping[str, Any] | None = None
    json_mode: bool = False
    max_output_tokens: int | None = None
    thinking: bool = False


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model makes; `arguments` is JSON text (possibly broken on purpose)."""

    name: str
    arguments: str

    @property
    def fragments(self) -> list[str]:
        """The argument text as streamed deltas; each one is an output token."""
        return split_fragments(self.arguments)


@dataclass(frozen=True)
class OutputPlan:
    """The model's whole output: visible text (or JSON), a refusal, tool calls, thinking."""

    text_chunks: tuple[str, ...] = ()
    refusal_chunks: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    thinking_chunks: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def text(self) -> str:
        """The visible answer text."""
        return "".join(self.text_chunks)

    @property
    def refusal(self) -> str:
        """The refusal message ("" when the model did not refuse)."""
        return "".join(self.refusal_chunks)

    @property
    def thinking(self) -> str:
        """The thinking (reasoning) text."""
        return "".join(self.thinking_chunks)

    @property
    def thinking_tokens(self) -> int:
        """Reasoning tokens: one per thinking chunk."""
        return len(self.thinking_chunks)

    @property
    def output_tokens(self) -> int:
        """All generated tokens: one per streamed chunk, thinking included."""
        visible = len(self.text_chunks) + len(self.refusal_chunks)
        return visible + sum(len(call.fragments) for call in self.tool_calls) + self.thinking_tokens

    @property
    def stop(self) -> StopKind:
        """Why generation ended, mapped to each provider's stop/finish reason by the wire modules."""
        if self.refusal_chunks:
            return "refusal"
        if self.tool_calls:
            return "tool_use"
        return "max_tokens" if self.truncated else "end"


def plan_output(request: OutputRequest, controls: Controls, rng: random.Random) -> OutputPlan:
    """Decide the output. Precedence: refusal, then tool calls, then structured JSON, then text.

    Raises:
        ApiError: a tool call was asked for but the request has no (such) tool.
    """
    thinking_count = controls.thinking_tokens
    if thinking_count is None:
        thinking_count = DEFAULT_THINKING_TOKENS if request.thinking else 0
    thinking = tuple(lorem_chunks(rng, thinking_count))

    if controls.refusal:
        return OutputPlan(refusal_chunks=tuple(split_words(controls.text or DEFAULT_REFUSAL)), thinking_chunks=thinking)
    if controls.tool_call is not None:
        return OutputPlan(tool_calls=_tool_calls(request, controls, rng), thinking_chunks=thinking)
    if request.schema is not None or request.json_mode:
        text = _structured_text(request, controls, rng)
        return OutputPlan(text_chunks=tuple(split_fragments(text)), thinking_chunks=thinking)

    chunks = split_words(controls.text) if controls.text is not None else lorem_chunks(rng, controls.output_tokens)
    limit = request.max_output_tokens
    truncated = limit is not None and len(chunks) > limit
    if limit is not None and truncated:
        chunks = chunks[: max(limit, 0)]
    return OutputPlan(text_chunks=tuple(chunks), thinking_chunks=thinking, truncated=truncated)


def _tool_calls(request: OutputRequest, controls: Controls, rng: random.Random) -> tuple[ToolCall, ...]:
    if not request.tools:
        raise ApiError(400, "x-fake-tool-call needs at least one tool in the request's `tools`", param="tools")
    if controls.tool_name is None:
        tool = request.tools[0]
    else:
        matches = [tool for tool in request.tools if tool.name == controls.tool_name]
        if not matches:
            names = ", ".join(tool.name for tool in request.tools)
            raise ApiError(400, f"x-fake-tool-name {controls.tool_name!r} is not among the request's tools ({names})")
        tool = matches[0]
    values = SchemaValues(rng)
    calls = []
    for _ in range(controls.tool_calls):
        if controls.tool_call == "schema-violating":
            arguments = json.dumps(values.violating(tool.schema))
        else:
            arguments = json.dumps(values.valid(tool.schema))
            if controls.tool_call == "malformed":
                arguments = break_json(arguments)
        calls.append(ToolCall(tool.name, arguments))
    return tuple(calls)


def _structured_text(request: OutputRequest, controls: Controls, rng: random.Random) -> str:
    values = SchemaValues(rng)
    schema = request.schema
    if controls.structured == "schema-violating":
        value = values.violating(schema) if schema is not None else ["json mode wants an object"]
        return json.dumps(value)
    value = values.valid(schema) if schema is not None else {"answer": lorem_text(rng, 6)}
    text = json.dumps(value)
    return break_json(text) if controls.structured == "invalid-json" else text


def break_json(text: str) -> str:
    """Corrupt valid JSON so that no parser accepts it, not even a partial (streaming) one.

    Drops the colon after the first object key (`{"city" "Paris"}`), or puts a stray
    comma after the opening bracket (or in front of a scalar). Truncation would not do: streaming parsers such
    as the SDKs' accept any prefix of valid JSON.
    """
    if '":' in text:
        broken = text.replace('":', '"', 1)
    elif text[:1] in ("{", "["):
        broken = text[:1] + "," + text[1:]
    else:
        broken = "," + text
    while True:
        try:
            json.loads(broken)
        except ValueError:
            return broken
        broken += "{"
