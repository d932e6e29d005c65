"""The real anthropic SDK against the fake's HTTP server: every call parses into typed models."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pydantic
import pytest
from anthropic.types import Message, TextBlock, ThinkingBlock, ToolUseBlock

from firsttoken.testing import FakeProviderServer

ANTHROPIC_MODEL = "claude-haiku-4-5"

WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
    },
}
CLOCK_TOOL: dict[str, Any] = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}


class Forecast(pydantic.BaseModel):
    city: str
    high: int
    rain: bool


def _user(text: str = "hello") -> list[Any]:
    return [{"role": "user", "content": text}]


def _create(client: anthropic.Anthropic, **kwargs: Any) -> Message:
    params: dict[str, Any] = {"model": ANTHROPIC_MODEL, "max_tokens": 256, "messages": _user()}
    return client.messages.create(**{**params, **kwargs})


def test_create_text(anthropic_client: anthropic.Anthropic) -> None:
    message = _create(anthropic_client, extra_headers={"x-fake-output-tokens": "5"})
    assert isinstance(message, Message)
    assert message.id.startswith("msg_01")
    assert message.model == ANTHROPIC_MODEL
    assert message.stop_reason == "end_turn"
    [block] = message.content
    assert isinstance(block, TextBlock)
    assert len(block.text.split()) == 5
    assert message.usage.output_tokens == 5
    assert message.usage.input_tokens == 2  # "hello": ceil(5 / 4)


def test_create_exact_text_and_max_tokens(anthropic_client: anthropic.Anthropic) -> None:
    message = _create(anthropic_client, extra_headers={"x-fake-text": "The quick brown fox"})
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == "The quick brown fox"
    truncated = _create(anthropic_client, max_tokens=2, extra_headers={"x-fake-text": "The quick brown fox"})
    assert truncated.stop_reason == "max_tokens"
    assert isinstance(truncated.content[0], TextBlock)
    assert truncated.content[0].text == "The quick"
    assert truncated.usage.output_tokens == 2


def test_non_ascii_text_control(anthropic_client: anthropic.Anthropic) -> None:
    message = _create(anthropic_client, extra_headers={"x-fake-text": "Grüße, 世界"})
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == "Grüße, 世界"


def test_prompt_cache_write_then_read_with_ttl_split(anthropic_client: anthropic.Anthropic, unique: str) -> None:
    tools = [{**CLOCK_TOOL, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    system = [{"type": "text", "text": unique + "You are terse. " * 40, "cache_control": {"type": "ephemeral"}}]
    first = _create(anthropic_client, tools=tools, system=system, messages=_user("what time is it?"))
    total = anthropic_client.messages.count_tokens(
        model=ANTHROPIC_MODEL, tools=tools, system=system, messages=_user("what time is it?")
    ).input_tokens
    usage = first.usage
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_1h_input_tokens > 0
    assert usage.cache_creation.ephemeral_5m_input_tokens > 0
    assert usage.cache_creation_input_tokens == (
        usage.cache_creation.ephemeral_1h_input_tokens + usage.cache_creation.ephemeral_5m_input_tokens
    )
    assert usage.input_tokens == 4  # only the uncached user turn
    assert usage.input_tokens + usage.cache_creation_input_tokens == total

    second = _create(anthropic_client, tools=tools, system=system, messages=_user("and the date?")).usage
    assert second.cache_read_input_tokens == usage.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == 4


def test_top_level_cache_control_caches_whole_prompt(anthropic_client: anthropic.Anthropic, unique: str) -> None:
    messages = _user(unique + "summarise this " * 20)
    first = _create(anthropic_client, messages=messages, cache_control={"type": "ephemeral"}).usage
    assert first.input_tokens == 0
    assert first.cache_creation_input_tokens
    second = _create(anthropic_client, messages=messages, cache_control={"type": "ephemeral"}).usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens


def test_cache_off_and_min_tokens(anthropic_client: anthropic.Anthropic, unique: str) -> None:
    system = [{"type": "text", "text": unique + "cache me", "cache_control": {"type": "ephemeral"}}]
    for headers in ({"x-fake-cache": "off"}, {"x-fake-cache-min-tokens": "1024"}):
        for _ in range(2):
            usage = _create(anthropic_client, system=system, extra_headers=headers).usage
            assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)


def test_stream_raw_events(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=100,
        messages=_user(),
        stream=True,
        extra_headers={"x-fake-output-tokens": "3"},
    ) as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start, delta = events[0], events[-2]
    assert start.type == "message_start"
    assert start.message.usage.output_tokens == 1
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == 3
    assert delta.usage.input_tokens == start.message.usage.input_tokens


def test_stream_helper_with_thinking_and_parallel_tools(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=2048,
        messages=_user("weather in Paris and the time?"),
        tools=[WEATHER_TOOL, CLOCK_TOOL],
        thinking={"type": "enabled", "budget_tokens": 1024},
        extra_headers={"x-fake-tool-call": "valid", "x-fake-tool-calls": "2", "x-fake-thinking": "6"},
    ) as stream:
        deltas = [event.delta.type for event in stream if event.type == "content_block_delta"]
        final = stream.get_final_message()
    assert deltas.count("thinking_delta") == 6
    assert deltas.count("signature_delta") == 1
    assert deltas.count("input_json_delta") > 2  # tool JSON arrives in several fragments
    assert final.stop_reason == "tool_use"
    thinking, *calls = final.content
    assert isinstance(thinking, ThinkingBlock)
    assert len(thinking.thinking.split()) == 6
    assert thinking.signature
    assert len(calls) == 2
    for call in calls:
        assert isinstance(call, ToolUseBlock)
        assert call.id.startswith("toolu_01")
        assert call.name == "get_weather"
        assert set(call.input) == {"city", "unit"}
        assert call.input["unit"] in ("c", "f")
    assert final.usage.output_tokens_details is not None
    assert final.usage.output_tokens_details.thinking_tokens == 6
    assert final.usage.output_tokens == 6 + deltas.count("input_json_delta")


def test_named_tool_and_schema_violating_arguments(anthropic_client: anthropic.Anthropic) -> None:
    message = _create(
        anthropic_client,
        tools=[CLOCK_TOOL, WEATHER_TOOL],
        extra_headers={"x-fake-tool-call": "schema-violating", "x-fake-tool-name": "get_weather"},
    )
    [call] = message.content
    assert isinstance(call, ToolUseBlock)
    assert call.name == "get_weather"
    assert "city" not in call.input  # a required property is missing


def test_malformed_tool_json_breaks_the_stream_helper(anthropic_client: anthropic.Anthropic) -> None:
    with (
        anthropic_client.messages.stream(
            model=ANTHROPIC_MODEL,
            max_tokens=100,
            messages=_user(),
            tools=[WEATHER_TOOL],
            extra_headers={"x-fake-tool-call": "malformed"},
        ) as stream,
        pytest.raises(ValueError, match="Unable to parse tool parameter JSON"),
    ):
        stream.get_final_message()


def test_tool_call_without_tools_is_bad_request(anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="tools"):
        _create(anthropic_client, extra_headers={"x-fake-tool-call": "valid"})


def test_parse_structured_output(anthropic_client: anthropic.Anthropic) -> None:
    parsed = anthropic_client.messages.parse(
        model=ANTHROPIC_MODEL, max_tokens=256, messages=_user("forecast?"), output_format=Forecast
    )
    assert isinstance(parsed.parsed_output, Forecast)
    assert parsed.stop_reason == "end_turn"


@pytest.mark.parametrize("mode", ["invalid-json", "schema-violating"])
def test_parse_broken_structured_output_raises(anthropic_client: anthropic.Anthropic, mode: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        anthropic_client.messages.parse(
            model=ANTHROPIC_MODEL,
            max_tokens=256,
            messages=_user("forecast?"),
            output_format=Forecast,
            extra_headers={"x-fake-structured": mode},
        )


def test_refusal(anthropic_client: anthropic.Anthropic) -> None:
    message = _create(anthropic_client, extra_headers={"x-fake-refusal": "1"})
    assert message.stop_reason == "refusal"
    assert message.stop_details is not None
    assert message.stop_details.type == "refusal"


def test_count_tokens_matches_messages_total(anthropic_client: anthropic.Anthropic) -> None:
    kwargs: dict[str, Any] = {"system": "Be brief.", "messages": _user("count me please"), "tools": [WEATHER_TOOL]}
    counted = anthropic_client.messages.count_tokens(model=ANTHROPIC_MODEL, **kwargs)
    usage = _create(anthropic_client, **kwargs).usage
    total = usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
    assert counted.input_tokens == total
    assert total == 3 + 4 + -(-len(json.dumps(WEATHER_TOOL, separators=(",", ":"))) // 4)


def test_beta_messages_create(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.beta.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=_user(), betas=["context-management-2025-06-27"]
    )
    assert message.type == "message"
    assert message.usage.output_tokens == 8


def test_response_headers_and_model_override(server: FakeProviderServer) -> None:
    with anthropic.Anthropic(api_key="test", base_url=server.anthropic_base_url, max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model=ANTHROPIC_MODEL,
            max_tokens=10,
            messages=_user(),
            extra_headers={"x-fake-response-model": "claude-haiku-4-5-20251001"},
        )
    assert raw.headers["request-id"].startswith("req_01")
    assert raw.headers["content-type"] == "application/json"
    assert raw.parse().model == "claude-haiku-4-5-20251001"


async def test_async_stream(async_anthropic_client: anthropic.AsyncAnthropic) -> None:
    async with async_anthropic_client.messages.stream(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=_user(), extra_headers={"x-fake-text": "async works"}
    ) as stream:
        text = [chunk async for chunk in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(text) == "async works"
    assert final.usage.output_tokens == 2
