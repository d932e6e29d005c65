"""The real openai SDK's Chat Completions against the fake's HTTP server."""

from __future__ import annotations

import json
from typing import Any

import openai
import pydantic
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

OPENAI_MODEL = "gpt-4o-mini"

LOOKUP_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}},
            "required": ["order_id", "limit"],
            "additionalProperties": False,
        },
    },
}
CANCEL_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "cancel_order", "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}},
}


class Invoice(pydantic.BaseModel):
    number: str
    total_cents: int
    paid: bool


def _messages(text: str = "hello", system: str | None = None) -> list[Any]:
    head = [{"role": "system", "content": system}] if system else []
    return [*head, {"role": "user", "content": text}]


def _create(client: openai.OpenAI, **kwargs: Any) -> ChatCompletion:
    params: dict[str, Any] = {"model": OPENAI_MODEL, "messages": _messages()}
    return client.chat.completions.create(**{**params, **kwargs})


def test_create_text(openai_client: openai.OpenAI) -> None:
    completion = _create(openai_client, extra_headers={"x-fake-output-tokens": "6"})
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == OPENAI_MODEL
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.content is not None
    assert len(choice.message.content.split()) == 6
    assert choice.message.refusal is None
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (2, 6, 8)


def test_automatic_prompt_cache(openai_client: openai.OpenAI, unique: str) -> None:
    system = unique + "You are a support agent for ACME. " * 10
    first = _create(openai_client, messages=_messages("hi", system), tools=[LOOKUP_TOOL]).usage
    second = _create(openai_client, messages=_messages("something else", system), tools=[LOOKUP_TOOL]).usage
    assert first is not None
    assert second is not None
    assert first.prompt_tokens_details is not None
    assert second.prompt_tokens_details is not None
    assert first.prompt_tokens_details.cached_tokens == 0
    cached = second.prompt_tokens_details.cached_tokens
    assert cached == first.prompt_tokens - 1  # everything but the 1-token user turn "hi"
    assert second.prompt_tokens == cached + 4  # prompt_tokens include the cached ones
    third = _create(openai_client, messages=_messages("hi", system), extra_headers={"x-fake-cache": "off"}).usage
    assert third is not None
    assert third.prompt_tokens_details is not None
    assert third.prompt_tokens_details.cached_tokens == 0


def test_tool_calls_non_stream(openai_client: openai.OpenAI) -> None:
    completion = _create(
        openai_client,
        tools=[LOOKUP_TOOL, CANCEL_TOOL],
        extra_headers={"x-fake-tool-call": "valid", "x-fake-tool-calls": "3"},
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert len(calls) == 3
    for call in calls:
        assert call.type == "function"
        assert call.id.startswith("call_")
        assert call.function.name == "lookup_order"
        arguments = json.loads(call.function.arguments)
        assert isinstance(arguments["order_id"], str)
        assert arguments["limit"] >= 1


@pytest.mark.parametrize(("mode", "parses"), [("malformed", False), ("schema-violating", True)])
def test_broken_tool_arguments(openai_client: openai.OpenAI, mode: str, parses: bool) -> None:
    completion = _create(
        openai_client,
        tools=[LOOKUP_TOOL, CANCEL_TOOL],
        extra_headers={"x-fake-tool-call": mode, "x-fake-tool-name": "lookup_order"},
    )
    [call] = completion.choices[0].message.tool_calls or []
    assert call.type == "function"
    if not parses:
        with pytest.raises(ValueError):
            json.loads(call.function.arguments)
    else:
        assert "order_id" not in json.loads(call.function.arguments)


def _chunks(client: openai.OpenAI, **kwargs: Any) -> list[ChatCompletionChunk]:
    with client.chat.completions.create(model=OPENAI_MODEL, messages=_messages(), stream=True, **kwargs) as stream:
        return list(stream)


def test_stream_without_usage(openai_client: openai.OpenAI) -> None:
    chunks = _chunks(openai_client, extra_headers={"x-fake-output-tokens": "4"})
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    contents = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(contents) == 4
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)
    assert all("usage" not in c.model_fields_set for c in chunks)


def test_stream_with_usage_and_tool_call_deltas(openai_client: openai.OpenAI) -> None:
    chunks = _chunks(
        openai_client,
        stream_options={"include_usage": True},
        tools=[LOOKUP_TOOL],
        extra_headers={"x-fake-tool-call": "valid", "x-fake-tool-calls": "2"},
    )
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert all(c.usage is None and "usage" in c.model_fields_set for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    fragments: dict[int, list[str]] = {0: [], 1: []}
    for chunk in chunks[1:-2]:
        for delta in chunk.choices[0].delta.tool_calls or []:
            if delta.id is not None:
                assert delta.type == "function"
                assert delta.function is not None
                assert delta.function.name == "lookup_order"
                assert delta.function.arguments == ""
            else:
                assert delta.type is None
            assert delta.function is not None
            fragments[delta.index].append(delta.function.arguments or "")
    for pieces in fragments.values():
        assert len(pieces) > 2
        assert set(json.loads("".join(pieces))) == {"order_id", "limit"}
    assert usage_chunk.usage.completion_tokens == sum(len(p) - 1 for p in fragments.values())


def test_stream_refusal_deltas(openai_client: openai.OpenAI) -> None:
    chunks = _chunks(openai_client, extra_headers={"x-fake-refusal": "1", "x-fake-text": "No can do."})
    refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks)
    assert refusal == "No can do."
    assert all(not c.choices[0].delta.content for c in chunks)


def test_refusal_non_stream(openai_client: openai.OpenAI) -> None:
    message = _create(openai_client, extra_headers={"x-fake-refusal": "1"}).choices[0].message
    assert message.content is None
    assert message.refusal


def test_parse_structured_output(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.parse(
        model=OPENAI_MODEL, messages=_messages("invoice?"), response_format=Invoice
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Invoice)


def test_parse_refusal_has_no_parsed_value(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.parse(
        model=OPENAI_MODEL, messages=_messages(), response_format=Invoice, extra_headers={"x-fake-refusal": "1"}
    )
    message = completion.choices[0].message
    assert message.parsed is None
    assert message.refusal


@pytest.mark.parametrize("mode", ["invalid-json", "schema-violating"])
def test_parse_broken_structured_output_raises(openai_client: openai.OpenAI, mode: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        openai_client.chat.completions.parse(
            model=OPENAI_MODEL, messages=_messages(), response_format=Invoice, extra_headers={"x-fake-structured": mode}
        )


def test_parse_pydantic_function_tool(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.parse(
        model=OPENAI_MODEL,
        messages=_messages(),
        tools=[openai.pydantic_function_tool(Invoice)],
        extra_headers={"x-fake-tool-call": "valid"},
    )
    [call] = completion.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, Invoice)


def test_json_object_mode(openai_client: openai.OpenAI) -> None:
    completion = _create(openai_client, response_format={"type": "json_object"})
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


def test_stream_helper_final_completion(openai_client: openai.OpenAI) -> None:
    with openai_client.chat.completions.stream(
        model=OPENAI_MODEL,
        messages=_messages(),
        response_format=Invoice,
        stream_options={"include_usage": True},
        extra_headers={"x-fake-thinking": "12", "x-fake-response-model": "gpt-4o-mini-2024-07-18"},
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.model == "gpt-4o-mini-2024-07-18"
    assert isinstance(final.choices[0].message.parsed, Invoice)
    assert final.usage is not None
    assert final.usage.completion_tokens_details is not None
    assert final.usage.completion_tokens_details.reasoning_tokens == 12
    assert final.usage.completion_tokens > 12


def test_length_finish_reason(openai_client: openai.OpenAI) -> None:
    completion = _create(openai_client, max_completion_tokens=3, extra_headers={"x-fake-output-tokens": "10"})
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3


def test_request_id_header(openai_client: openai.OpenAI) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(model=OPENAI_MODEL, messages=_messages())
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.parse().choices[0].message.role == "assistant"


async def test_async_stream(async_openai_client: openai.AsyncOpenAI) -> None:
    stream = await async_openai_client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=_messages(),
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-fake-text": "async chat"},
    )
    async with stream:
        chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "async chat"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 2
