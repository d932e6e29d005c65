"""Every OpenAI call surface (Chat Completions, Responses, Embeddings), sync and async: one correct span per call."""

from __future__ import annotations

from typing import Any

import openai
import pydantic

from tests.instrumentation._flavor import Flavor
from tests.instrumentation.conftest import Telemetry

MODEL = "gpt-5-mini"


def chat(unique: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": f"{unique}You are terse."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        **extra,
    }


def assert_chat_usage(attrs: dict[str, Any], usage: Any) -> None:
    # OpenAI's prompt_tokens already include cached tokens: reported as-is.
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    if cached is not None:
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == cached


async def test_chat_create(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    completion = await flavor.call(oai.chat.completions.create, **chat(unique, temperature=0.5, seed=3))
    assert type(completion) is openai.types.chat.ChatCompletion
    attrs = telemetry.one()
    assert telemetry.span().name == f"chat {MODEL}"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["gen_ai.request.seed"] == 3
    assert "gen_ai.request.max_tokens" not in attrs
    assert attrs["gen_ai.response.id"] == completion.id
    assert attrs["gen_ai.response.model"] == completion.model
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["firsttoken.api.surface"] == "chat.completions"
    assert_chat_usage(attrs, completion.usage)


async def test_chat_stream_with_usage(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(
        oai.chat.completions.create, **chat(unique), stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.AsyncStream if flavor.is_async else openai.Stream)
    chunks = await flavor.drain(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True
    assert_chat_usage(attrs, chunks[-1].usage)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert attrs["firsttoken.stream.chunks"] == len(content_chunks)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


async def test_chat_stream_without_usage_is_marked_missing(
    flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str
) -> None:
    chunks = await flavor.drain(await flavor.call(oai.chat.completions.create, **chat(unique), stream=True))
    assert all(c.usage is None for c in chunks)
    attrs = telemetry.one()
    assert attrs["firsttoken.usage.missing"] is True
    assert "gen_ai.usage.input_tokens" not in attrs  # never estimated
    assert "gen_ai.usage.output_tokens" not in attrs
    assert "firsttoken.cache.hit" not in attrs


class Capital(pydantic.BaseModel):
    city: str
    country: str


async def test_chat_parse(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    completion = await flavor.call(oai.chat.completions.parse, **chat(unique), response_format=Capital)
    assert isinstance(completion.choices[0].message.parsed, Capital)
    attrs = telemetry.one()
    assert attrs["gen_ai.response.id"] == completion.id
    assert_chat_usage(attrs, completion.usage)


async def test_chat_stream_manager(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    manager = oai.chat.completions.stream(**chat(unique), stream_options={"include_usage": True})
    async with flavor.enter(manager) as stream:
        final = await flavor.call(stream.get_final_completion)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True
    assert attrs["gen_ai.response.id"] == final.id
    assert_chat_usage(attrs, final.usage)


async def test_responses_create(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    response = await flavor.call(
        oai.responses.create, model=MODEL, instructions=f"{unique}Be terse.", input="Capital of France?"
    )
    attrs = telemetry.one()
    assert attrs["firsttoken.api.surface"] == "responses"
    assert attrs["gen_ai.response.id"] == response.id
    assert attrs["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == response.usage.input_tokens_details.cached_tokens
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


async def test_responses_stream(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(
        oai.responses.create, model=MODEL, instructions=f"{unique}Be terse.", input="Capital?", stream=True
    )
    events = await flavor.drain(stream)
    completed = events[-1]
    assert completed.type == "response.completed"
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True
    assert attrs["gen_ai.response.id"] == completed.response.id
    assert attrs["gen_ai.usage.output_tokens"] == completed.response.usage.output_tokens
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert attrs["firsttoken.stream.chunks"] == len(deltas)


async def test_responses_parse_and_stream_manager(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    parsed = await flavor.call(oai.responses.parse, model=MODEL, input=f"{unique}Capital?", text_format=Capital)
    assert isinstance(parsed.output_parsed, Capital)
    assert telemetry.one()["gen_ai.response.id"] == parsed.id
    telemetry.clear()
    async with flavor.enter(oai.responses.stream(model=MODEL, input=f"{unique}Capital?")) as stream:
        final = await flavor.call(stream.get_final_response)
    attrs = telemetry.one()
    assert attrs["gen_ai.response.id"] == final.id
    assert attrs["firsttoken.stream.completed"] is True


async def test_embeddings(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    result = await flavor.call(
        oai.embeddings.create, model="text-embedding-3-small", input=[f"{unique}a", "b"], dimensions=8
    )
    assert len(result.data) == 2
    assert len(result.data[0].embedding) == 8
    attrs = telemetry.one()
    assert telemetry.span().name == "embeddings text-embedding-3-small"
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.embeddings.dimension.count"] == 8
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    assert "gen_ai.usage.output_tokens" not in attrs


async def test_chat_with_raw_response(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    raw = await flavor.call(oai.chat.completions.with_raw_response.create, **chat(unique))
    attrs = telemetry.one()
    completion = raw.parse()  # LegacyAPIResponse.parse is sync even on the async client
    if hasattr(completion, "__await__"):
        completion = await completion
    assert attrs["gen_ai.response.id"] == completion.id
    assert_chat_usage(attrs, completion.usage)


async def test_chat_with_raw_response_stream(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    raw = await flavor.call(
        oai.chat.completions.with_raw_response.create,
        **chat(unique),
        stream=True,
        stream_options={"include_usage": True},
    )
    assert telemetry.client_spans() == []
    stream = raw.parse()
    if hasattr(stream, "__await__"):
        stream = await stream
    chunks = await flavor.drain(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is True
    assert_chat_usage(attrs, chunks[-1].usage)


async def test_chat_with_streaming_response(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    async with flavor.enter(oai.chat.completions.with_streaming_response.create(**chat(unique))) as response:
        assert telemetry.client_spans() == []
        completion = await flavor.call(response.parse)
    attrs = telemetry.one()
    assert attrs["gen_ai.response.id"] == completion.id


async def test_responses_with_streaming_response_json(
    flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str
) -> None:
    async with flavor.enter(oai.responses.with_streaming_response.create(model=MODEL, input=f"{unique}x")) as response:
        body = await flavor.call(response.json)
    attrs = telemetry.one()
    assert attrs["gen_ai.response.id"] == body["id"]
    assert attrs["gen_ai.usage.input_tokens"] == body["usage"]["input_tokens"]
