"""Every Anthropic call surface, sync and async, yields exactly one correct LLM span; SDK results are untouched."""

from __future__ import annotations

from typing import Any

import anthropic
import pydantic

from tests.instrumentation._flavor import Flavor
from tests.instrumentation.conftest import STREAM_ISINSTANCE_WORKS, Telemetry

MODEL = "claude-haiku-4-5"


def ask(unique: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"{unique}What is the capital of France?"}],
        **extra,
    }


def assert_usage_matches(attrs: dict[str, Any], usage: Any) -> None:
    """Span usage equals the response's, with the GenAI convention's total input (Anthropic excludes cache)."""
    read = usage.cache_read_input_tokens or 0
    creation = usage.cache_creation_input_tokens or 0
    assert attrs["gen_ai.usage.input_tokens"] == usage.input_tokens + read + creation
    assert attrs["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == read
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == creation


async def test_create(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    # anthropic 2.x dropped `temperature` from the signature; extra_body still sends it, and the span says so.
    message = await flavor.call(
        anth.messages.create, **ask(unique, stop_sequences=["END"]), extra_body={"temperature": 0.2}
    )
    assert type(message) is anthropic.types.Message
    attrs = telemetry.one()
    span = telemetry.span()
    assert span.name == f"chat {MODEL}"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert "gen_ai.request.top_p" not in attrs  # never a made-up default
    assert attrs["gen_ai.request.stream"] is False
    assert attrs["gen_ai.response.id"] == message.id
    assert attrs["gen_ai.response.model"] == message.model
    assert attrs["gen_ai.response.finish_reasons"] == (message.stop_reason,)
    assert attrs["server.address"] == "127.0.0.1"
    assert_usage_matches(attrs, message.usage)
    assert "gen_ai.response.time_to_first_chunk" not in attrs
    assert span.status.is_ok


async def test_create_stream(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(anth.messages.create, **ask(unique), stream=True)
    stream_cls = anthropic.AsyncStream if flavor.is_async else anthropic.Stream
    assert stream.__class__ is stream_cls
    if STREAM_ISINSTANCE_WORKS:
        assert isinstance(stream, stream_cls)
    events = await flavor.drain(stream)
    assert events[0].type == "message_start"
    final = events[-2]
    assert final.type == "message_delta"
    attrs = telemetry.one()
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["firsttoken.stream.completed"] is True
    assert attrs["gen_ai.response.id"] == events[0].message.id
    # message_delta carries the cumulative output count: reported once, not added to message_start's.
    assert attrs["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    start_usage = events[0].message.usage
    assert attrs["gen_ai.usage.input_tokens"] == (
        start_usage.input_tokens
        + (start_usage.cache_read_input_tokens or 0)
        + (start_usage.cache_creation_input_tokens or 0)
    )
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    deltas = [e for e in events if e.type == "content_block_delta"]
    assert attrs["firsttoken.stream.chunks"] == len(deltas)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


async def test_stream_manager_helpers(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    async with flavor.enter(anth.messages.stream(**ask(unique))) as stream:
        texts = [t async for t in stream.text_stream] if flavor.is_async else list(stream.text_stream)
        snapshot = stream.current_message_snapshot
        final = await flavor.call(stream.get_final_message)
        text = await flavor.call(stream.get_final_text)
    assert "".join(texts) == text == final.content[0].text
    assert snapshot.id == final.id
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True
    assert attrs["gen_ai.response.id"] == final.id
    assert_usage_matches(attrs, final.usage)


async def test_stream_manager_until_done(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    async with flavor.enter(anth.messages.stream(**ask(unique))) as stream:
        await flavor.call(stream.until_done)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True


async def test_stream_manager_exited_early(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    async with flavor.enter(anth.messages.stream(**ask(unique))) as stream:
        await flavor.first(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is False


class Capital(pydantic.BaseModel):
    city: str
    country: str


async def test_parse(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    parsed = await flavor.call(anth.messages.parse, **ask(unique), output_format=Capital)
    assert isinstance(parsed.parsed_output, Capital)
    attrs = telemetry.one()
    assert attrs["firsttoken.api.surface"] == "messages"
    assert attrs["gen_ai.response.id"] == parsed.id
    assert_usage_matches(attrs, parsed.usage)


async def test_count_tokens(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    counted = await flavor.call(
        anth.messages.count_tokens, model=MODEL, messages=[{"role": "user", "content": f"{unique}hello"}]
    )
    attrs = telemetry.one()
    assert telemetry.span().name == f"count_tokens {MODEL}"
    assert attrs["gen_ai.operation.name"] == "count_tokens"
    assert attrs["firsttoken.count_tokens.input_tokens"] == counted.input_tokens
    # counting is not consuming: no usage that dashboards would sum
    assert "gen_ai.usage.input_tokens" not in attrs


async def test_beta_create_and_stream(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    message = await flavor.call(anth.beta.messages.create, **ask(unique))
    attrs = telemetry.one()
    assert attrs["gen_ai.response.id"] == message.id
    assert_usage_matches(attrs, message.usage)
    telemetry.clear()
    async with flavor.enter(anth.beta.messages.stream(**ask(unique))) as stream:
        final = await flavor.call(stream.get_final_message)
    attrs = telemetry.one()
    assert attrs["gen_ai.response.id"] == final.id
    assert attrs["firsttoken.stream.completed"] is True


async def test_beta_parse(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    parsed = await flavor.call(anth.beta.messages.parse, **ask(unique), output_format=Capital)
    assert isinstance(parsed.parsed_output, Capital)
    assert telemetry.one()["gen_ai.response.id"] == parsed.id


async def test_with_raw_response(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    raw = await flavor.call(anth.messages.with_raw_response.create, **ask(unique))
    attrs = telemetry.one()  # ended without the caller parsing anything
    message = await flavor.call(raw.parse)
    assert type(message) is anthropic.types.Message
    assert attrs["gen_ai.response.id"] == message.id
    assert_usage_matches(attrs, message.usage)


async def test_with_raw_response_stream(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    raw = await flavor.call(anth.messages.with_raw_response.create, **ask(unique), stream=True)
    assert telemetry.client_spans() == []  # the caller has not read the stream yet
    stream = await flavor.call(raw.parse)
    events = await flavor.drain(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True
    assert attrs["gen_ai.usage.output_tokens"] == events[-2].usage.output_tokens


async def test_with_streaming_response(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    async with flavor.enter(anth.messages.with_streaming_response.create(**ask(unique))) as response:
        assert telemetry.client_spans() == []  # nothing read, nothing forced
        message = await flavor.call(response.parse)
    attrs = telemetry.one()
    assert attrs["gen_ai.response.id"] == message.id
    assert_usage_matches(attrs, message.usage)


async def test_with_streaming_response_stream(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    async with flavor.enter(anth.messages.with_streaming_response.create(**ask(unique), stream=True)) as response:
        stream = await flavor.call(response.parse)
        events = await flavor.drain(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True
    assert attrs["gen_ai.response.id"] == events[0].message.id


async def test_with_streaming_response_never_parsed(
    flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str
) -> None:
    async with flavor.enter(anth.messages.with_streaming_response.create(**ask(unique))) as response:
        assert response.status_code == 200
    attrs = telemetry.one()
    assert attrs["firsttoken.usage.missing"] is True
