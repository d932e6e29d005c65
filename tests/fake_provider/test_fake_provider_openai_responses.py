"""The real openai SDK's Responses and Embeddings APIs against the fake's HTTP server."""

from __future__ import annotations

import json
import math
from typing import Any

import openai
import pydantic
import pytest
from openai.types.responses import Response, ResponseFunctionToolCall, ResponseOutputMessage

from firsttoken.testing import FakeProviderServer

OPENAI_MODEL = "gpt-4.1-mini"

SEARCH_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "search_docs",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "top_k": {"type": "integer"}},
        "required": ["query", "top_k"],
        "additionalProperties": False,
    },
    "strict": True,
}


class Ticket(pydantic.BaseModel):
    title: str
    priority: int
    labels: list[str]


def _create(client: openai.OpenAI, **kwargs: Any) -> Response:
    params: dict[str, Any] = {"model": OPENAI_MODEL, "input": "hello"}
    return client.responses.create(**{**params, **kwargs})


def test_create_text(openai_client: openai.OpenAI) -> None:
    response = _create(openai_client, extra_headers={"x-fake-output-tokens": "7"})
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    [item] = response.output
    assert isinstance(item, ResponseOutputMessage)
    assert len(response.output_text.split()) == 7
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (2, 7, 9)
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0


def test_cached_instructions_and_reasoning_tokens(openai_client: openai.OpenAI, unique: str) -> None:
    instructions = unique + "Answer in French. " * 12
    first = _create(openai_client, instructions=instructions, tools=[SEARCH_TOOL]).usage
    second = _create(
        openai_client, instructions=instructions, tools=[SEARCH_TOOL], extra_headers={"x-fake-thinking": "9"}
    )
    assert first is not None
    assert second.usage is not None
    assert first.input_tokens_details.cached_tokens == 0
    assert second.usage.input_tokens_details.cached_tokens == first.input_tokens - 2
    assert second.usage.input_tokens == first.input_tokens
    assert second.usage.output_tokens_details.reasoning_tokens == 9
    assert second.usage.output_tokens == 9 + 8


def test_function_calls(openai_client: openai.OpenAI) -> None:
    response = _create(
        openai_client, tools=[SEARCH_TOOL], extra_headers={"x-fake-tool-call": "valid", "x-fake-tool-calls": "2"}
    )
    calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    assert len(calls) == 2
    for call in calls:
        assert call.name == "search_docs"
        assert call.call_id.startswith("call_")
        assert call.id is not None
        assert call.id.startswith("fc_")
        assert set(json.loads(call.arguments)) == {"query", "top_k"}


def test_stream_event_sequence(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.create(
        model=OPENAI_MODEL, input="hi", stream=True, extra_headers={"x-fake-output-tokens": "3"}
    ) as stream:
        events = list(stream)
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.usage is not None
    assert completed.response.usage.output_tokens == 3


def test_stream_function_call_events(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.create(
        model=OPENAI_MODEL,
        input="find it",
        tools=[SEARCH_TOOL],
        stream=True,
        extra_headers={"x-fake-tool-call": "valid"},
    ) as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds.count("response.function_call_arguments.delta") > 2
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert done.type == "response.function_call_arguments.done"
    assert json.loads(done.arguments) == json.loads(deltas)


def test_stream_helper_final_response(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.stream(
        model=OPENAI_MODEL, input="search", tools=[SEARCH_TOOL], extra_headers={"x-fake-tool-call": "valid"}
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    [call] = final.output
    assert call.type == "function_call"
    assert final.usage is not None
    assert final.usage.output_tokens > 0


def test_parse_structured_output(openai_client: openai.OpenAI) -> None:
    parsed = openai_client.responses.parse(model=OPENAI_MODEL, input="ticket?", text_format=Ticket)
    assert isinstance(parsed.output_parsed, Ticket)


def test_stream_helper_parses_structured_output(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.stream(model=OPENAI_MODEL, input="ticket?", text_format=Ticket) as stream:
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, Ticket)


@pytest.mark.parametrize("mode", ["invalid-json", "schema-violating"])
def test_parse_broken_structured_output_raises(openai_client: openai.OpenAI, mode: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        openai_client.responses.parse(
            model=OPENAI_MODEL, input="ticket?", text_format=Ticket, extra_headers={"x-fake-structured": mode}
        )


def test_refusal_part(openai_client: openai.OpenAI) -> None:
    response = _create(openai_client, extra_headers={"x-fake-refusal": "1"})
    [message] = response.output
    assert isinstance(message, ResponseOutputMessage)
    [part] = message.content
    assert part.type == "refusal"
    assert part.refusal
    with openai_client.responses.create(
        model=OPENAI_MODEL, input="x", stream=True, extra_headers={"x-fake-refusal": "1"}
    ) as stream:
        kinds = [event.type for event in stream]
    assert "response.refusal.delta" in kinds
    assert "response.refusal.done" in kinds


def test_max_output_tokens_makes_incomplete_response(openai_client: openai.OpenAI) -> None:
    response = _create(openai_client, max_output_tokens=16, extra_headers={"x-fake-output-tokens": "40"})
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None
    assert response.usage.output_tokens == 16


async def test_async_stream_helper(async_openai_client: openai.AsyncOpenAI) -> None:
    async with async_openai_client.responses.stream(
        model=OPENAI_MODEL, input="hi", extra_headers={"x-fake-text": "async responses"}
    ) as stream:
        final = await stream.get_final_response()
    assert final.output_text == "async responses"


# -- embeddings ---------------------------------------------------------------------------


def test_embeddings_default_base64(server: FakeProviderServer) -> None:
    # Strict validation is off: the SDK validates before decoding base64 (real API behaves the same).
    with openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0) as client:
        result = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta gamma"])
    assert [item.index for item in result.data] == [0, 1]
    for item in result.data:
        assert len(item.embedding) == 1536
        assert all(isinstance(x, float) for x in item.embedding)
        assert math.isclose(math.sqrt(sum(x * x for x in item.embedding)), 1.0, rel_tol=1e-5)
    assert result.usage.prompt_tokens == 2 + 3
    assert result.usage.total_tokens == result.usage.prompt_tokens


def test_embeddings_float_and_dimensions(openai_client: openai.OpenAI, server: FakeProviderServer) -> None:
    floats = openai_client.embeddings.create(
        model="text-embedding-3-small", input="alpha", dimensions=64, encoding_format="float"
    )
    assert len(floats.data[0].embedding) == 64
    with openai.OpenAI(api_key="test", base_url=server.openai_base_url, max_retries=0) as client:
        decoded = client.embeddings.create(model="text-embedding-3-small", input="alpha", dimensions=64)
    assert decoded.data[0].embedding == floats.data[0].embedding  # same input, same vector
    tokens = openai_client.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3]], encoding_format="float")
    assert tokens.usage.prompt_tokens == 3
