"""The in-process httpx2 mock transports, and the HTTP server's connection handling and CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from firsttoken.testing import (
    FakeProvider,
    FakeProviderConfig,
    FakeProviderServer,
    async_mock_transport,
    mock_transport,
)

ANTHROPIC_MODEL = "claude-haiku-4-5"
MESSAGES: list[Any] = [{"role": "user", "content": "hello"}]


# -- mock transports ----------------------------------------------------------------------


def test_mock_transport_sync_clients() -> None:
    provider = FakeProvider(FakeProviderConfig(seed=3))
    with anthropic.Anthropic(
        api_key="x", base_url="http://fake", http_client=httpx2.Client(transport=mock_transport(provider))
    ) as client:
        message = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=32, messages=MESSAGES)
        with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=32, messages=MESSAGES) as stream:
            final = stream.get_final_message()
    assert message.usage.output_tokens == 8
    assert final.stop_reason == "end_turn"
    with openai.OpenAI(
        api_key="x", base_url="http://fake/v1", http_client=httpx2.Client(transport=mock_transport(provider))
    ) as oai:
        chunks = list(
            oai.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        )
    assert chunks[-1].usage is not None


def test_mock_transport_faults_become_transport_errors() -> None:
    client = anthropic.Anthropic(
        api_key="x", base_url="http://fake", max_retries=0, http_client=httpx2.Client(transport=mock_transport())
    )
    with client:
        with pytest.raises(anthropic.APITimeoutError):
            client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, extra_headers={"x-fake-fault": "hang"}
            )
        with pytest.raises(anthropic.APIConnectionError):
            client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, extra_headers={"x-fake-fault": "drop"}
            )
        with pytest.raises(anthropic.OverloadedError):
            client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, extra_headers={"x-fake-fault": "529"}
            )
        stream = client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, stream=True, extra_headers={"x-fake-fault": "drop"}
        )
        with stream, pytest.raises(httpx2.RemoteProtocolError):
            list(stream)


def test_mock_transport_ignores_delays_unless_realtime() -> None:
    config = FakeProviderConfig(ttft_ms=200, token_ms=20)
    for realtime, fast in ((False, True), (True, False)):
        transport = mock_transport(FakeProvider(config), realtime=realtime)
        with openai.OpenAI(api_key="x", base_url="http://fake/v1", http_client=httpx2.Client(transport=transport)) as c:
            started = time.monotonic()
            c.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            elapsed = time.monotonic() - started
        assert (elapsed < 0.3) is fast  # realtime: 0.2 s TTFT + 8 x 20 ms


async def test_async_mock_transport() -> None:
    provider = FakeProvider()
    async with openai.AsyncOpenAI(
        api_key="x", base_url="http://fake/v1", http_client=httpx2.AsyncClient(transport=async_mock_transport(provider))
    ) as client:
        stream = await client.responses.create(model="gpt-4.1", input="hi", stream=True)
        async with stream:
            kinds = [event.type async for event in stream]
        parsed = await client.embeddings.create(model="text-embedding-3-small", input="hi", dimensions=4)
    assert kinds[-1] == "response.completed"
    assert len(parsed.data[0].embedding) == 4
    async with anthropic.AsyncAnthropic(
        api_key="x",
        base_url="http://fake",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=async_mock_transport(provider)),
    ) as anthropic_client:
        with pytest.raises(anthropic.RateLimitError):
            await anthropic_client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, extra_headers={"x-fake-fault": "429"}
            )


# -- HTTP server --------------------------------------------------------------------------


def test_keep_alive_and_concurrency(server: FakeProviderServer) -> None:
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        ports = set()
        for _ in range(3):
            response = http.post("/v1/messages", json={"model": "m", "max_tokens": 8, "messages": MESSAGES})
            assert response.status_code == 200
            assert response.headers["content-length"] == str(len(response.content))
            ports.add(response.extensions["network_stream"].get_extra_info("client_addr")[1])
        assert len(ports) == 1  # one connection reused

    def call(_: int) -> float:
        with httpx2.Client(base_url=server.url, timeout=10) as client:
            started = time.monotonic()
            client.post(
                "/v1/messages",
                json={"model": "m", "max_tokens": 8, "messages": MESSAGES},
                headers={"x-fake-ttft-ms": "300"},
            ).raise_for_status()
            return time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        durations = list(pool.map(call, range(16)))
    assert min(durations) >= 0.3
    assert time.monotonic() - started < 2.5  # served in parallel: serially it would take 4.8 s


def test_stream_uses_chunked_encoding(server: FakeProviderServer) -> None:
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True}
    with (
        httpx2.Client(base_url=server.openai_base_url) as http,
        http.stream("POST", "/chat/completions", json=body) as r,
    ):
        assert r.headers["transfer-encoding"] == "chunked"
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0].removeprefix("data: "))["object"] == "chat.completion.chunk"


def test_stop_does_not_wait_for_hanging_requests() -> None:
    server = FakeProviderServer().start()
    errors: list[BaseException] = []

    def hang() -> None:
        try:
            with httpx2.Client(timeout=30) as client:
                client.post(
                    server.url + "/v1/messages",
                    json={"model": "m", "max_tokens": 8, "messages": MESSAGES},
                    headers={"x-fake-fault": "hang", "x-fake-hang-s": "60"},
                )
        except httpx2.HTTPError as exc:
            errors.append(exc)

    worker = threading.Thread(target=hang)
    worker.start()
    idle = socket.create_connection(("127.0.0.1", server.port))  # an idle keep-alive style connection
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert len(errors) == 1  # the hanging client saw the connection close
    idle.close()
    with pytest.raises(RuntimeError):
        _ = server.url


def test_cli_serves_until_sigterm() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "firsttoken.testing.fake_provider", "--port", "0", "--seed", "1", "--ttft-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        header = [process.stdout.readline() for _ in range(3)]
        url = header[0].split()[-1]
        assert header[1].strip() == f"ANTHROPIC_BASE_URL={url}"
        assert header[2].strip() == f"OPENAI_BASE_URL={url}/v1"
        with openai.OpenAI(api_key="x", base_url=url + "/v1", max_retries=0) as client:
            assert client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_server_and_cli_import_without_httpx2() -> None:
    code = (
        "import sys; import firsttoken.testing as t; import firsttoken.testing.fake_provider.cli;"
        "assert 'httpx2' not in sys.modules; t.mock_transport; assert 'httpx2' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cli_reports_bad_port() -> None:
    from firsttoken.testing.fake_provider.cli import run

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert run(["--port", str(taken.getsockname()[1])]) == 1
