"""Tasks, tags and tool outcomes: identity stamped everywhere inside, totals rolled up, outcomes counted once."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest

import firsttoken
from firsttoken.testing import FakeProviderServer
from tests.instrumentation.conftest import Telemetry

ASK = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


def by_name(telemetry: Telemetry, prefix: str) -> list[Any]:
    return [s for s in telemetry.spans() if s.name.startswith(prefix)]


def test_task_stamps_and_rolls_up(anthropic_client: anthropic.Anthropic, telemetry: Telemetry) -> None:
    with firsttoken.task("triage", agent="classifier", ticket_queue="billing") as t:
        anthropic_client.messages.create(**ASK)
        for _ in anthropic_client.messages.create(**ASK, stream=True):
            pass
    (task_span,) = by_name(telemetry, "invoke_workflow")
    attrs = dict(task_span.attributes or {})
    assert task_span.name == "invoke_workflow triage"
    assert attrs["firsttoken.task.id"] == t.id
    assert attrs["gen_ai.agent.name"] == "classifier"
    assert attrs["ticket_queue"] == "billing"
    assert attrs["firsttoken.task.status"] == "completed"
    assert attrs["firsttoken.task.llm_calls"] == 2
    llm = telemetry.llm_spans()
    assert len(llm) == 2
    assert all(s.attributes["firsttoken.task.id"] == t.id for s in llm)
    assert all(s.parent is not None and s.parent.span_id == task_span.context.span_id for s in llm)
    assert attrs["firsttoken.task.usage.input_tokens"] == sum(s.attributes["gen_ai.usage.input_tokens"] for s in llm)
    assert attrs["firsttoken.task.usage.output_tokens"] == sum(s.attributes["gen_ai.usage.output_tokens"] for s in llm)


def test_task_failure_paths(telemetry: Telemetry) -> None:
    with pytest.raises(KeyError), firsttoken.task("boom"):
        raise KeyError("x")
    with firsttoken.task("unusable") as t:
        t.fail("answer not grounded")
    with firsttoken.task("recovered") as t:
        t.fail("first try")
        t.complete()
    spans = {s.name: dict(s.attributes or {}) for s in by_name(telemetry, "invoke_workflow")}
    assert spans["invoke_workflow boom"]["firsttoken.task.status"] == "failed"
    assert spans["invoke_workflow boom"]["error.type"] == "KeyError"
    assert spans["invoke_workflow unusable"]["firsttoken.task.failure_reason"] == "answer not grounded"
    assert spans["invoke_workflow recovered"]["firsttoken.task.status"] == "completed"


async def test_decorators_sync_and_async(
    anthropic_client: anthropic.Anthropic, async_anthropic_client: anthropic.AsyncAnthropic, telemetry: Telemetry
) -> None:
    @firsttoken.task("sync-job")
    def job() -> str:
        return anthropic_client.messages.create(**ASK).id

    @firsttoken.task("async-job")
    async def ajob() -> str:
        return (await async_anthropic_client.messages.create(**ASK)).id

    job()
    await ajob()
    await ajob()
    names = sorted(s.name for s in by_name(telemetry, "invoke_workflow"))
    assert names == ["invoke_workflow async-job", "invoke_workflow async-job", "invoke_workflow sync-job"]
    ids = {s.attributes["firsttoken.task.id"] for s in by_name(telemetry, "invoke_workflow")}
    assert len(ids) == 3  # a fresh task per invocation


def test_threads_with_in_context(anthropic_client: anthropic.Anthropic, telemetry: Telemetry) -> None:
    with firsttoken.task("fan-out") as t:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(firsttoken.in_context(lambda _: anthropic_client.messages.create(**ASK)), range(6)))
        thread = threading.Thread(target=firsttoken.in_context(lambda: anthropic_client.messages.create(**ASK)))
        thread.start()
        thread.join()
    llm = telemetry.llm_spans()
    assert len(llm) == 7
    assert {s.attributes["firsttoken.task.id"] for s in llm} == {t.id}
    (task_span,) = by_name(telemetry, "invoke_workflow")
    assert task_span.attributes["firsttoken.task.llm_calls"] == 7


async def test_asyncio_gather(async_anthropic_client: anthropic.AsyncAnthropic, telemetry: Telemetry) -> None:
    async with firsttoken.task("gather") as t:
        await asyncio.gather(*(async_anthropic_client.messages.create(**ASK) for _ in range(5)))
    assert {s.attributes["firsttoken.task.id"] for s in telemetry.llm_spans()} == {t.id}


def test_planner_and_workers(anthropic_client: anthropic.Anthropic, telemetry: Telemetry) -> None:
    def worker(i: int) -> None:
        with firsttoken.task("worker", agent="researcher"):
            anthropic_client.messages.create(**ASK)
            with firsttoken.tool("search") as run:
                if i % 3 == 0:
                    run.fail("no results")

    with firsttoken.task("plan", agent="planner") as planner:
        anthropic_client.messages.create(**ASK)
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(firsttoken.in_context(worker), range(6)))
    tasks = {s.attributes["firsttoken.task.id"]: s for s in by_name(telemetry, "invoke_workflow")}
    plan = tasks[planner.id]
    workers = [s for s in tasks.values() if s.name == "invoke_workflow worker"]
    assert len(workers) == 6
    assert all(w.attributes["firsttoken.task.parent_id"] == planner.id for w in workers)
    assert all(w.parent is not None and w.parent.span_id == plan.context.span_id for w in workers)
    assert plan.attributes["firsttoken.task.llm_calls"] == 7  # its own call and the workers'
    assert plan.attributes["firsttoken.task.tool_calls"] == 6
    assert plan.attributes["firsttoken.task.tool_failures"] == 2
    tools = by_name(telemetry, "execute_tool")
    assert len(tools) == 6
    assert sum(1 for s in tools if s.attributes["firsttoken.tool.success"] is False) == 2


def test_attributes_tags(anthropic_client: anthropic.Anthropic, telemetry: Telemetry) -> None:
    with firsttoken.attributes(tenant="acme", user="u-42"), firsttoken.attributes(feature="voice", region="eu"):
        anthropic_client.messages.create(**ASK)
    anthropic_client.messages.create(**ASK)
    tagged, untagged = telemetry.llm_spans()
    assert tagged.attributes["firsttoken.tenant"] == "acme"
    assert tagged.attributes["user.id"] == "u-42"
    assert tagged.attributes["firsttoken.feature"] == "voice"
    assert tagged.attributes["firsttoken.tag.region"] == "eu"
    assert "firsttoken.tenant" not in untagged.attributes


async def test_tool_decorator_async_and_exceptions(telemetry: Telemetry) -> None:
    @firsttoken.tool("lookup")
    async def lookup(ok: bool) -> str:
        if not ok:
            raise TimeoutError("slow")
        return "found"

    await lookup(True)
    with pytest.raises(TimeoutError):
        await lookup(False)
    good, bad = by_name(telemetry, "execute_tool")
    assert good.attributes["firsttoken.tool.success"] is True
    assert bad.attributes["firsttoken.tool.success"] is False
    assert bad.attributes["error.type"] == "TimeoutError"
    assert good.attributes["gen_ai.tool.name"] == "lookup"


def test_tool_results_inferred_once(server: FakeProviderServer, telemetry: Telemetry, unique: str) -> None:
    """The next request's tool_result blocks (is_error) record outcomes; resending the history does not."""
    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client, firsttoken.task("t"):
        first = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=32,
            tools=tools,
            messages=[{"role": "user", "content": f"{unique}weather in Paris and Rome?"}],
            extra_headers={"x-fake-tool-call": "valid", "x-fake-tool-calls": "2"},
        )
        uses = [b for b in first.content if b.type == "tool_use"]
        history = [
            {"role": "user", "content": f"{unique}weather in Paris and Rome?"},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": uses[0].id, "content": "18C"},
                    {"type": "tool_result", "tool_use_id": uses[1].id, "content": "timeout", "is_error": True},
                ],
            },
        ]
        second = client.messages.create(model="claude-haiku-4-5", max_tokens=32, tools=tools, messages=history)
        retried = [
            *history,
            {"role": "assistant", "content": [b.model_dump() for b in second.content]},
            {"role": "user", "content": "thanks"},
        ]
        client.messages.create(model="claude-haiku-4-5", max_tokens=32, tools=tools, messages=retried)
        client.messages.create(model="claude-haiku-4-5", max_tokens=32, tools=tools, messages=history)  # resent
    outcomes = by_name(telemetry, "execute_tool")
    assert [(s.attributes["gen_ai.tool.call.id"], s.attributes["firsttoken.tool.success"]) for s in outcomes] == [
        (uses[0].id, True),
        (uses[1].id, False),
    ]
    assert all(s.attributes["gen_ai.tool.name"] == "get_weather" for s in outcomes)
    assert all(s.attributes["firsttoken.tool.source"] == "inferred" for s in outcomes)
    (task_span,) = by_name(telemetry, "invoke_workflow")
    assert task_span.attributes["firsttoken.task.tool_calls"] == 2
    assert task_span.attributes["firsttoken.task.tool_failures"] == 1


def test_explicit_and_inferred_count_once(server: FakeProviderServer, telemetry: Telemetry) -> None:
    with firsttoken.tool("get_weather", call_id="toolu_explicit_1"):
        pass
    history = [
        {"role": "user", "content": "w?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_explicit_1", "name": "get_weather", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_explicit_1", "content": "18C"}]},
    ]
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=16, messages=history)
    assert len(by_name(telemetry, "execute_tool")) == 1
