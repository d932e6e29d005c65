"""Values a user reads off the span: time to first token, cache hits, tool calls, errors, retries, context."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest
from opentelemetry import trace

from firsttoken.testing import FakeProviderServer
from tests.instrumentation._flavor import Flavor
from tests.instrumentation.conftest import HTTPX, Telemetry

HAIKU = "claude-haiku-4-5"
MINI = "gpt-5-mini"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def ask(unique: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": HAIKU,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": f"{unique}Hello"}],
        **extra,
    }


@pytest.mark.parametrize("ttft_ms", [150, 400])
async def test_time_to_first_chunk_tracks_the_delay(
    flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str, ttft_ms: int
) -> None:
    stream = await flavor.call(
        anth.messages.create,
        **ask(unique),
        stream=True,
        extra_headers={"x-fake-ttft-ms": str(ttft_ms), "x-fake-token-ms": "20"},
    )
    await flavor.drain(stream)
    ttft = telemetry.one()["gen_ai.response.time_to_first_chunk"]
    assert ttft_ms / 1000 <= ttft < ttft_ms / 1000 + 0.15


async def test_openai_ttft_skips_the_role_only_first_chunk(
    flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str
) -> None:
    """OpenAI's first chunk carries only the role; the clock stops at the first content, after the delay."""
    stream = await flavor.call(
        oai.chat.completions.create,
        model=MINI,
        messages=[{"role": "user", "content": f"{unique}hi"}],
        stream=True,
        extra_headers={"x-fake-ttft-ms": "250"},
    )
    chunks = await flavor.drain(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert not chunks[0].choices[0].delta.content
    assert telemetry.one()["gen_ai.response.time_to_first_chunk"] >= 0.25


async def test_anthropic_prompt_cache_creation_then_hit(
    flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str
) -> None:
    system = [
        {
            "type": "text",
            "text": f"{unique}" + "You are a voice agent. " * 60,
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    first = await flavor.call(anth.messages.create, **ask(unique), system=system)
    attrs = telemetry.one()
    assert first.usage.cache_creation_input_tokens > 0
    assert attrs["firsttoken.cache.hit"] is False
    assert attrs["firsttoken.cache.hit_ratio"] == 0.0
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == first.usage.cache_creation_input_tokens
    assert attrs["firsttoken.usage.cache_creation.ephemeral_1h_input_tokens"] == first.usage.cache_creation_input_tokens
    assert attrs["firsttoken.usage.cache_creation.ephemeral_5m_input_tokens"] == 0
    telemetry.clear()
    second = await flavor.call(anth.messages.create, **ask(unique), system=system)
    attrs = telemetry.one()
    read = second.usage.cache_read_input_tokens
    assert read == first.usage.cache_creation_input_tokens
    assert attrs["firsttoken.cache.hit"] is True
    total = second.usage.input_tokens + read + (second.usage.cache_creation_input_tokens or 0)
    assert attrs["gen_ai.usage.input_tokens"] == total
    assert attrs["firsttoken.cache.hit_ratio"] == pytest.approx(read / total)


async def test_openai_cached_tokens_on_the_repeat(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    messages = [
        {"role": "system", "content": f"{unique}" + "Classify the ticket. " * 80},
        {"role": "user", "content": "My card was charged twice"},
    ]
    await flavor.call(oai.chat.completions.create, model=MINI, messages=messages)
    assert telemetry.one()["firsttoken.cache.hit"] is False
    telemetry.clear()
    again = await flavor.call(oai.chat.completions.create, model=MINI, messages=messages)
    attrs = telemetry.one()
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert cached > 0
    assert attrs["firsttoken.cache.hit"] is True
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == cached
    assert attrs["gen_ai.usage.input_tokens"] == again.usage.prompt_tokens  # includes the cached tokens


async def test_tool_calls_plain_and_streamed(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    headers = {"x-fake-tool-call": "valid", "x-fake-tool-calls": "2"}
    message = await flavor.call(anth.messages.create, **ask(unique), tools=[WEATHER_TOOL], extra_headers=headers)
    attrs = telemetry.one()
    used = [b for b in message.content if b.type == "tool_use"]
    assert attrs["firsttoken.tool_calls.names"] == ("get_weather", "get_weather")
    assert attrs["firsttoken.tool_calls.ids"] == tuple(b.id for b in used)
    assert attrs["firsttoken.tool_calls.count"] == 2
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    telemetry.clear()
    stream = await flavor.call(
        anth.messages.create, **ask(unique), tools=[WEATHER_TOOL], extra_headers=headers, stream=True
    )
    await flavor.drain(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.tool_calls.names"] == ("get_weather", "get_weather")
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)


async def test_openai_streamed_tool_call_deltas(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": WEATHER_TOOL["input_schema"]}}
    stream = await flavor.call(
        oai.chat.completions.create,
        model=MINI,
        messages=[{"role": "user", "content": f"{unique}weather?"}],
        tools=[tool],
        stream=True,
        extra_headers={"x-fake-tool-call": "valid"},
    )
    chunks = await flavor.drain(stream)
    argument_chunks = [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(argument_chunks) > 1  # the arguments really arrived split
    attrs = telemetry.one()
    assert attrs["firsttoken.tool_calls.names"] == ("lookup",)
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


FAULTS = [
    ("429", "RateLimitError", "rate_limit", 429),
    ("529", "OverloadedError", "overloaded", 529),
    ("500", "InternalServerError", "server_error", 500),
]


@pytest.mark.parametrize(("fault", "error_type", "category", "status"), FAULTS)
async def test_anthropic_errors(
    flavor: Flavor,
    anth: Any,
    telemetry: Telemetry,
    unique: str,
    fault: str,
    error_type: str,
    category: str,
    status: int,
) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        await flavor.call(anth.messages.create, **ask(unique), extra_headers={"x-fake-fault": fault})
    if hasattr(anthropic, error_type):  # anthropic 0.x has no OverloadedError: 529 is an InternalServerError there
        assert type(caught.value).__name__ == error_type
    error_type = type(caught.value).__name__
    span = telemetry.span()
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == error_type
    assert attrs["firsttoken.error.category"] == category
    assert attrs["http.response.status_code"] == status
    assert attrs.get("firsttoken.throttled", False) is (status in (429, 529))
    assert not span.status.is_ok


async def test_retries_are_counted(
    flavor: Flavor, server: FakeProviderServer, telemetry: Telemetry, unique: str
) -> None:
    cls = anthropic.AsyncAnthropic if flavor.is_async else anthropic.Anthropic
    client = cls(api_key="k", base_url=server.anthropic_base_url, max_retries=3)
    headers = {"x-fake-fault": "429", "x-fake-fault-attempts": "2", "x-fake-retry-after": "0"}
    message = await flavor.call(client.messages.create, **ask(unique), extra_headers=headers)
    attrs = telemetry.one()
    assert attrs["firsttoken.retries"] == 2
    assert attrs["firsttoken.throttled"] is True
    assert attrs["gen_ai.response.id"] == message.id  # succeeded on the third attempt
    assert telemetry.span().status.is_ok
    await flavor.close(client)


async def test_timeout(flavor: Flavor, server: FakeProviderServer, telemetry: Telemetry, unique: str) -> None:
    cls = openai.AsyncOpenAI if flavor.is_async else openai.OpenAI
    client = cls(api_key="k", base_url=server.openai_base_url, max_retries=1, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        await flavor.call(
            client.chat.completions.create,
            model=MINI,
            messages=[{"role": "user", "content": f"{unique}hi"}],
            extra_headers={"x-fake-fault": "hang", "x-fake-hang-s": "2"},
        )
    attrs = telemetry.one()
    assert attrs["error.type"] == "APITimeoutError"
    assert attrs["firsttoken.error.category"] == "timeout"
    assert attrs["firsttoken.retries"] == 1
    await flavor.close(client)


async def test_connection_refused(flavor: Flavor, telemetry: Telemetry) -> None:
    cls = anthropic.AsyncAnthropic if flavor.is_async else anthropic.Anthropic
    client = cls(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(anthropic.APIConnectionError):
        await flavor.call(client.messages.create, **ask("x"))
    attrs = telemetry.one()
    assert attrs["error.type"] == "APIConnectionError"
    assert attrs["firsttoken.error.category"] == "connection"
    await flavor.close(client)


def test_span_is_current_during_the_http_call(telemetry: Telemetry) -> None:
    """HTTP-client spans (or anything the transport does) nest under the LLM span."""
    from firsttoken.testing import FakeProvider

    seen: list[Any] = []
    fake = FakeProvider()

    def handler(request: Any) -> Any:
        seen.append(trace.get_current_span().get_span_context())
        answer = fake.handle(request.method, request.url.path, dict(request.headers), request.content)
        return HTTPX.Response(answer.status, headers=dict(answer.headers), content=answer.body)

    client = anthropic.Anthropic(api_key="k", http_client=HTTPX.Client(transport=HTTPX.MockTransport(handler)))
    client.messages.create(**ask("ctx"))
    span = telemetry.span()
    assert seen == [span.get_span_context()]
    assert not trace.get_current_span().get_span_context().is_valid  # detached afterwards


async def test_parent_is_the_callers_span(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("handle_turn") as parent:
        await flavor.call(anth.messages.create, **ask(unique))
    llm = telemetry.llm_spans()[0]
    assert llm.parent is not None
    assert llm.parent.span_id == parent.get_span_context().span_id
    assert llm.context.trace_id == parent.get_span_context().trace_id


async def test_reasoning_tokens(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    completion = await flavor.call(
        oai.chat.completions.create,
        model="gpt-5-mini",
        messages=[{"role": "user", "content": f"{unique}think"}],
        extra_headers={"x-fake-thinking": "37"},
    )
    reasoning = completion.usage.completion_tokens_details.reasoning_tokens
    assert reasoning == 37
    assert telemetry.one()["gen_ai.usage.reasoning.output_tokens"] == reasoning
