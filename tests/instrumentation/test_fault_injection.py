"""Never break the host application: make each internal step raise in turn.

For every step, the caller's results, exceptions and stream contents are exactly those of an uninstrumented run, and
the fault is logged once however many calls hit it.
"""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import openai
import pytest

import firsttoken
from firsttoken import _guard
from firsttoken.core import call as call_module
from firsttoken.core import runtime as runtime_module
from firsttoken.core import stream_proxy as stream_module
from firsttoken.core.call import LLMCall
from firsttoken.core.metrics import GenAIMetrics
from firsttoken.core.runtime import Runtime
from firsttoken.providers.anthropic import MessagesEndpoint
from firsttoken.providers.openai import ChatCompletionsEndpoint
from firsttoken.testing import FakeProviderServer
from tests.instrumentation._flavor import Flavor
from tests.instrumentation.conftest import EXPORTER


class Injected(RuntimeError):
    pass


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise Injected("injected fault")


def _raising_recorder(self: Any, facts: Any) -> Any:
    return _boom


# (owner, attribute, replacement)
STEPS: list[tuple[Any, str, Any]] = [
    (Runtime, "begin", _boom),
    (LLMCall, "activate", _boom),
    (LLMCall, "deactivate", _boom),
    (MessagesEndpoint, "read_request", _boom),
    (ChatCompletionsEndpoint, "read_request", _boom),
    (MessagesEndpoint, "read_response", _boom),
    (ChatCompletionsEndpoint, "read_response", _boom),
    (MessagesEndpoint, "stream_recorder", _raising_recorder),
    (ChatCompletionsEndpoint, "stream_recorder", _raising_recorder),
    (Runtime, "observe", _boom),
    (Runtime, "fail", _boom),
    (LLMCall, "end", _boom),
    (LLMCall, "note_retry", _boom),
    (call_module, "outcome_attributes", _boom),
    (call_module, "set_many", _boom),
    (runtime_module, "classify_error", _boom),
    (stream_module, "classify_error", _boom),
    (GenAIMetrics, "enqueue", _boom),
]

HEADERS = {"x-fake-text": "alpha beta gamma delta"}


async def scenario(flavor: Flavor, server: FakeProviderServer) -> list[Any]:
    """Everything a caller observes across the interesting paths, as plain values."""
    seen: list[Any] = []
    a_cls = anthropic.AsyncAnthropic if flavor.is_async else anthropic.Anthropic
    o_cls = openai.AsyncOpenAI if flavor.is_async else openai.OpenAI
    a = a_cls(api_key="k", base_url=server.anthropic_base_url, max_retries=1)
    o = o_cls(api_key="k", base_url=server.openai_base_url, max_retries=0)
    ask = {"model": "claude-haiku-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": "fault-test"}]}
    message = await flavor.call(a.messages.create, **ask, extra_headers=HEADERS)
    seen.append((type(message).__name__, message.content[0].text, message.usage.output_tokens))
    stream = await flavor.call(a.messages.create, **ask, extra_headers=HEADERS, stream=True)
    # `__class__` (what isinstance uses) is the SDK class; `type()` of a proxy is the proxy, as with any wrapper.
    seen.append((stream.__class__.__name__, [getattr(e, "type", None) for e in await flavor.drain(stream)]))
    async with flavor.enter(a.messages.stream(**ask, extra_headers=HEADERS)) as managed:
        seen.append(await flavor.call(managed.get_final_text))
    retried = await flavor.call(
        a.messages.create,
        **ask,
        extra_headers={**HEADERS, "x-fake-fault": "429", "x-fake-fault-attempts": "1", "x-fake-retry-after": "0.01"},
    )
    seen.append(retried.content[0].text)
    try:
        await flavor.call(a.messages.create, **ask, extra_headers={"x-fake-fault": "529"})
    except anthropic.APIStatusError as exc:
        seen.append((type(exc).__name__, exc.status_code))
    chat = {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "fault-test"}]}
    completion = await flavor.call(o.chat.completions.create, **chat, extra_headers=HEADERS)
    seen.append((completion.choices[0].message.content, completion.usage.total_tokens))
    chunks = await flavor.drain(
        await flavor.call(o.chat.completions.create, **chat, extra_headers=HEADERS, stream=True)
    )
    seen.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
    broken = await flavor.call(
        o.chat.completions.create, **chat, stream=True, extra_headers={"x-fake-fault": "drop", "x-fake-drop-after": "2"}
    )
    try:
        await flavor.drain(broken)
    except Exception as exc:  # the SDK's own error for a cut connection
        seen.append(type(exc).__name__)
    await flavor.close(a)
    await flavor.close(o)
    return seen


@pytest.mark.parametrize(("owner", "name", "replacement"), STEPS, ids=[f"{o.__name__}.{n}" for o, n, _ in STEPS])
async def test_each_internal_fault_leaves_the_app_untouched(
    flavor: Flavor,
    server: FakeProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    owner: Any,
    name: str,
    replacement: Any,
) -> None:
    monkeypatch.setenv("FIRSTTOKEN_STRICT", "0")
    baseline = await scenario(flavor, server)  # uninstrumented

    firsttoken.instrument()
    try:
        healthy = await scenario(flavor, server)
        assert healthy == baseline
        _guard.reset_reported()
        monkeypatch.setattr(owner, name, replacement)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="firsttoken"):
            faulty = [await scenario(flavor, server) for _ in range(2)]
    finally:
        monkeypatch.undo()
        firsttoken.uninstrument()
        EXPORTER.clear()
    assert faulty == [baseline, baseline]
    reports = [r for r in caplog.records if r.name == "firsttoken" and "internal error" in r.getMessage()]
    assert len(reports) == 1, [r.getMessage() for r in reports]
    assert isinstance(reports[0].exc_info[1], Injected) if reports[0].exc_info else True
