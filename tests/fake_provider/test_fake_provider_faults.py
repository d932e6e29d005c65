"""Faults and latency through the real SDKs: typed errors, retries, timeouts, drops, TTFT."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from firsttoken.testing import FakeProviderServer

ANTHROPIC_MODEL = "claude-haiku-4-5"
OPENAI_MODEL = "gpt-4o-mini"
MESSAGES: list[Any] = [{"role": "user", "content": "hello"}]
FAST_RETRY = {"x-fake-retry-after": "0.01"}  # keeps the SDKs' retry waits short


def _anthropic(server: FakeProviderServer, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=server.anthropic_base_url, **kwargs)


def _openai(server: FakeProviderServer, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="test", base_url=server.openai_base_url, **kwargs)


def _message(client: anthropic.Anthropic, headers: dict[str, str], **kwargs: Any) -> anthropic.types.Message:
    return client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, extra_headers=headers, **kwargs
    )


# -- status faults ------------------------------------------------------------------------


def test_anthropic_429_is_rate_limit_error_with_body_and_retry_after(anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        _message(anthropic_client, {"x-fake-fault": "429", "x-fake-retry-after": "3"})
    error = caught.value
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "3"
    assert error.response.headers["request-id"].startswith("req_")
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == "rate_limit_error"


def test_anthropic_429_after_all_retries(server: FakeProviderServer) -> None:
    with _anthropic(server, max_retries=2) as client, pytest.raises(anthropic.RateLimitError) as caught:
        _message(client, {"x-fake-fault": "429", **FAST_RETRY})
    assert caught.value.response.request.headers["x-stainless-retry-count"] == "2"


def test_fault_attempts_lets_the_retry_succeed(server: FakeProviderServer) -> None:
    headers = {"x-fake-fault": "529", "x-fake-fault-attempts": "1", **FAST_RETRY}
    with _anthropic(server, max_retries=2) as client:
        raw = client.messages.with_raw_response.create(
            model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, extra_headers=headers
        )
    assert raw.retries_taken == 1
    assert raw.parse().stop_reason == "end_turn"
    with _openai(server, max_retries=2) as client:
        raw_chat = client.chat.completions.with_raw_response.create(
            model=OPENAI_MODEL, messages=MESSAGES, extra_headers={**headers, "x-fake-fault": "429"}
        )
    assert raw_chat.retries_taken == 1
    assert raw_chat.parse().choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("fault", "error_class", "error_type"),
    [
        ("529", anthropic.OverloadedError, "overloaded_error"),
        ("500", anthropic.InternalServerError, "api_error"),
        ("503", anthropic.ServiceUnavailableError, "api_error"),
    ],
)
def test_anthropic_server_errors(
    anthropic_client: anthropic.Anthropic, fault: str, error_class: type[anthropic.APIStatusError], error_type: str
) -> None:
    with pytest.raises(error_class) as caught:
        _message(anthropic_client, {"x-fake-fault": fault})
    assert caught.value.status_code == int(fault)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == error_type
    assert issubclass(anthropic.OverloadedError, anthropic.InternalServerError)


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [("429", openai.RateLimitError), ("500", openai.InternalServerError), ("529", openai.InternalServerError)],
)
def test_openai_status_errors(
    openai_client: openai.OpenAI, fault: str, error_class: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error_class) as caught:
        openai_client.chat.completions.create(
            model=OPENAI_MODEL, messages=MESSAGES, extra_headers={"x-fake-fault": fault}
        )
    assert caught.value.status_code == int(fault)
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}  # the SDK unwraps "error"
    assert caught.value.response.headers["x-request-id"].startswith("req_")


def test_openai_faults_apply_to_every_endpoint(openai_client: openai.OpenAI) -> None:
    headers = {"x-fake-fault": "429"}
    with pytest.raises(openai.RateLimitError):
        openai_client.responses.create(model=OPENAI_MODEL, input="x", extra_headers=headers)
    with pytest.raises(openai.RateLimitError):
        openai_client.embeddings.create(model="text-embedding-3-small", input="x", extra_headers=headers)


# -- hangs and drops ----------------------------------------------------------------------


def test_hang_times_out(server: FakeProviderServer) -> None:
    started = time.monotonic()
    with _anthropic(server, max_retries=0, timeout=0.5) as client, pytest.raises(anthropic.APITimeoutError):
        _message(client, {"x-fake-fault": "hang", "x-fake-hang-s": "5"})
    with _openai(server, max_retries=0, timeout=0.5) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, extra_headers={"x-fake-fault": "hang"})
    assert time.monotonic() - started < 4  # two 0.5 s timeouts, not the 5 s / 30 s hangs


def test_hang_mid_stream_times_out(server: FakeProviderServer) -> None:
    with _openai(server, max_retries=0, timeout=0.5) as client:
        stream = client.chat.completions.create(
            model=OPENAI_MODEL, messages=MESSAGES, stream=True, extra_headers={"x-fake-fault": "hang"}
        )
        with stream:
            first = next(iter(stream))
            assert first.choices[0].delta.role == "assistant"  # the first chunk arrives, then nothing
            with pytest.raises(openai.APITimeoutError):
                list(stream)


def test_drop_mid_stream_raises_while_iterating(
    anthropic_client: anthropic.Anthropic, openai_client: openai.OpenAI
) -> None:
    with anthropic_client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=64,
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-fake-fault": "drop", "x-fake-drop-after": "3"},
    ) as stream:
        events = iter(stream)
        assert [next(events).type, next(events).type] == ["message_start", "content_block_start"]
        with pytest.raises(httpx2.RemoteProtocolError):
            next(events)  # chunk 3 (the ping) never arrives
    with (
        openai_client.chat.completions.create(
            model=OPENAI_MODEL, messages=MESSAGES, stream=True, extra_headers={"x-fake-fault": "drop"}
        ) as chat_stream,
        pytest.raises(openai.APIConnectionError),
    ):
        list(chat_stream)


def test_drop_before_response_is_connection_error(anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIConnectionError):
        _message(anthropic_client, {"x-fake-fault": "drop"})


# -- latency ------------------------------------------------------------------------------


def test_ttft_and_token_delay_are_measurable(anthropic_client: anthropic.Anthropic) -> None:
    headers = {"x-fake-ttft-ms": "300", "x-fake-token-ms": "50", "x-fake-output-tokens": "4"}
    started = time.monotonic()
    arrivals: dict[str, list[float]] = {}
    with anthropic_client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, stream=True, extra_headers=headers
    ) as stream:
        for event in stream:
            arrivals.setdefault(event.type, []).append(time.monotonic() - started)
    assert arrivals["message_start"][0] < 0.25  # the head of the stream is not delayed
    deltas = arrivals["content_block_delta"]
    assert deltas[0] >= 0.3
    assert deltas[-1] - deltas[0] >= 3 * 0.05 * 0.9

    started = time.monotonic()
    _message(anthropic_client, headers)
    assert time.monotonic() - started >= 0.3 + 4 * 0.05


def test_client_disconnect_mid_stream_is_quiet(
    anthropic_client: anthropic.Anthropic, capfd: pytest.CaptureFixture[str]
) -> None:
    headers = {"x-fake-token-ms": "20", "x-fake-output-tokens": "50"}
    with anthropic_client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, stream=True, extra_headers=headers
    ) as stream:
        next(iter(stream))
    time.sleep(0.2)  # the server writes into the closed connection meanwhile
    assert _message(anthropic_client, {}).stop_reason == "end_turn"  # and keeps serving
    assert capfd.readouterr().err == ""


# -- async --------------------------------------------------------------------------------


async def test_async_rate_limit_and_timeout(server: FakeProviderServer) -> None:
    async with anthropic.AsyncAnthropic(
        api_key="test", base_url=server.anthropic_base_url, max_retries=0, timeout=0.5
    ) as client:
        with pytest.raises(anthropic.RateLimitError):
            await client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, extra_headers={"x-fake-fault": "429"}
            )
        with pytest.raises(anthropic.APITimeoutError):
            await client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, extra_headers={"x-fake-fault": "hang"}
            )


async def test_async_retry_then_success(server: FakeProviderServer) -> None:
    async with openai.AsyncOpenAI(api_key="test", base_url=server.openai_base_url, max_retries=1) as client:
        response = await client.responses.create(
            model=OPENAI_MODEL,
            input="x",
            extra_headers={"x-fake-fault": "503", "x-fake-fault-attempts": "1", **FAST_RETRY},
        )
    assert response.status == "completed"


async def test_async_drop_mid_stream(async_openai_client: openai.AsyncOpenAI) -> None:
    stream = await async_openai_client.responses.create(
        model=OPENAI_MODEL, input="x", stream=True, extra_headers={"x-fake-fault": "drop", "x-fake-drop-after": "4"}
    )
    async with stream:
        events = stream.__aiter__()
        seen = [(await anext(events)).type for _ in range(4)]
        with pytest.raises(openai.APIConnectionError):
            await anext(events)
    assert seen[:2] == ["response.created", "response.in_progress"]
