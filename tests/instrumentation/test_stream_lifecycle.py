"""A stream's span ends exactly once, whichever way the stream ends, and the stream stays the SDK's own."""

from __future__ import annotations

import gc
from typing import Any

import anthropic
import openai
import pytest

from tests.instrumentation._flavor import Flavor
from tests.instrumentation.conftest import STREAM_ISINSTANCE_WORKS, Telemetry, settle

MODEL = "claude-haiku-4-5"


def ask(unique: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"{unique}Tell me a story."}],
        "stream": True,
        **extra,
    }


async def test_exhausted(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(anth.messages.create, **ask(unique))
    await flavor.drain(stream)
    await flavor.close(stream)  # closing after the end must not end the span a second time
    spans = telemetry.client_spans()
    assert len(spans) == 1
    assert spans[0].attributes["firsttoken.stream.completed"] is True


async def test_closed_midway(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(anth.messages.create, **ask(unique))
    await flavor.first(stream)
    await flavor.close(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is False
    assert telemetry.span().status.is_ok  # closing early is the caller's choice, not an error


async def test_with_block_exit(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(anth.messages.create, **ask(unique))
    async with flavor.enter(stream) as entered:
        assert entered is stream  # `with stream as s` yields the same (proxied) stream
        await flavor.first(entered)
    assert telemetry.one()["firsttoken.stream.completed"] is False


async def test_early_break(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(anth.messages.create, **ask(unique))
    if flavor.is_async:
        async for _event in stream:
            break
    else:
        for _event in stream:
            break
    await settle()  # async generators are finalised by the loop on a later turn
    attrs = telemetry.one()
    assert attrs["firsttoken.stream.completed"] is False
    await flavor.close(stream)
    assert len(telemetry.client_spans()) == 1


async def test_error_mid_stream(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    stream = await flavor.call(
        anth.messages.create, **ask(unique), extra_headers={"x-fake-fault": "drop", "x-fake-drop-after": "3"}
    )
    with pytest.raises(Exception) as caught:
        await flavor.drain(stream)
    span = telemetry.span()
    attrs = dict(span.attributes or {})
    assert attrs["firsttoken.stream.completed"] is False
    assert attrs["error.type"] == type(caught.value).__qualname__
    assert attrs["firsttoken.error.category"] == "stream_interrupted"
    assert not span.status.is_ok


def test_garbage_collected_unread(anthropic_client: anthropic.Anthropic, telemetry: Telemetry, unique: str) -> None:
    stream = anthropic_client.messages.create(**ask(unique))
    assert telemetry.client_spans() == []
    del stream
    gc.collect()
    spans = telemetry.client_spans()
    assert len(spans) == 1
    assert spans[0].attributes["firsttoken.stream.completed"] is False


async def test_garbage_collected_unread_async(
    async_anthropic_client: anthropic.AsyncAnthropic, telemetry: Telemetry, unique: str
) -> None:
    stream = await async_anthropic_client.messages.create(**ask(unique))
    del stream
    await settle()
    assert telemetry.one()["firsttoken.stream.completed"] is False


def test_manual_next(anthropic_client: anthropic.Anthropic, telemetry: Telemetry, unique: str) -> None:
    stream = anthropic_client.messages.create(**ask(unique))
    events = []
    while True:
        try:
            events.append(next(stream))
        except StopIteration:
            break
    assert events[-1].type == "message_stop"
    assert telemetry.one()["firsttoken.stream.completed"] is True


def test_stream_keeps_type_and_attributes(
    anthropic_client: anthropic.Anthropic, telemetry: Telemetry, unique: str
) -> None:
    stream = anthropic_client.messages.create(**ask(unique))
    assert stream.__class__ is anthropic.Stream
    if STREAM_ISINSTANCE_WORKS:
        assert isinstance(stream, anthropic.Stream)
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    stream.close()


def test_openai_stream_manager_closed_early(openai_client: openai.OpenAI, telemetry: Telemetry, unique: str) -> None:
    # ChatCompletionStream.close() closes the HTTP response directly; the span still ends exactly once.
    with openai_client.chat.completions.stream(
        model="gpt-5-mini", messages=[{"role": "user", "content": f"{unique}hi"}]
    ) as stream:
        for _event in stream:
            break
    del stream, _event
    gc.collect()
    assert telemetry.one()["firsttoken.stream.completed"] is False


def test_no_per_stream_growth(anthropic_client: anthropic.Anthropic, telemetry: Telemetry, unique: str) -> None:
    """Nothing about a finished stream is kept: no proxy, call or span object survives."""
    from firsttoken.core.call import LLMCall

    for _ in range(20):
        for _event in anthropic_client.messages.create(**ask(unique)):
            pass
    gc.collect()
    assert sum(isinstance(o, LLMCall) for o in gc.get_objects()) == 0
    assert len(telemetry.client_spans()) == 20


async def test_proxies_expose_the_same_protocols(
    anthropic_client: anthropic.Anthropic,
    async_anthropic_client: anthropic.AsyncAnthropic,
    telemetry: Telemetry,
    unique: str,
) -> None:
    """Code that picks sync or async handling by `hasattr` must see what it sees on the SDK's own streams."""
    sync_stream = anthropic_client.messages.create(**ask(unique))
    async_stream = await async_anthropic_client.messages.create(**ask(unique))
    for name in ("__iter__", "__next__", "__enter__", "__exit__", "__aiter__", "__anext__", "__aenter__", "__aexit__"):
        assert hasattr(sync_stream, name) == hasattr(anthropic.Stream, name), name
        assert hasattr(async_stream, name) == hasattr(anthropic.AsyncStream, name), name
    sync_stream.close()
    await async_stream.close()
