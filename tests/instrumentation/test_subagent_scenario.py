"""Issue 3's acceptance scenario: a planner task fans out to 20 worker calls across threads and asyncio tasks, with
tool calls (some failing, one with malformed arguments) and structured outputs (one invalid, one refused)."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai
import pytest

import firsttoken
from firsttoken.testing import FakeProviderServer
from tests.instrumentation.conftest import Telemetry

LOOKUP = {
    "name": "lookup",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}
VERDICT = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
    },
}


async def test_planner_fans_out_to_twenty_workers(server: FakeProviderServer, telemetry: Telemetry) -> None:
    claude = anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url)
    gpt = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url)

    def thread_worker(i: int) -> None:
        # 10 workers in threads: Anthropic calls with a tool; worker 3's arguments are malformed
        with firsttoken.task("research", agent="worker"):
            mode = "malformed" if i == 3 else "valid"
            claude.messages.create(
                model="claude-haiku-4-5",
                max_tokens=32,
                tools=[LOOKUP],
                messages=[{"role": "user", "content": f"research {i}"}],
                extra_headers={"x-fake-tool-call": mode},
            )
            with firsttoken.tool("lookup") as run:
                if i % 4 == 0:
                    run.fail("backend down")  # workers 0, 4, 8 fail their tool

    async def async_worker(i: int) -> None:
        # 10 workers as asyncio tasks: structured verdicts; worker 13 invalid, worker 17 refused
        async with firsttoken.task("judge", agent="worker"):
            headers = {"x-fake-structured": "schema-violating"} if i == 13 else {}
            if i == 17:
                headers = {"x-fake-refusal": "1"}
            await gpt.chat.completions.create(
                model="gpt-5-mini",
                messages=[{"role": "user", "content": f"judge {i}"}],
                response_format=VERDICT,
                extra_headers=headers,
            )

    with firsttoken.task("plan", agent="planner") as planner:
        claude.messages.create(model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "plan"}])
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(firsttoken.in_context(thread_worker), range(10)))
        await asyncio.gather(*(async_worker(i) for i in range(10, 20)))
    claude.close()
    await gpt.close()

    spans = telemetry.spans()
    llm = telemetry.llm_spans()
    tasks = {s.attributes["firsttoken.task.id"]: s for s in spans if s.name.startswith("invoke_workflow")}
    workers = [s for s in tasks.values() if s.attributes.get("gen_ai.agent.name") == "worker"]
    plan = tasks[planner.id]
    assert len(llm) == 21
    assert len(workers) == 20
    # every worker hangs under the planner; every LLM span carries its own worker's (or the planner's) task id
    assert all(w.attributes["firsttoken.task.parent_id"] == planner.id for w in workers)
    for span in llm:
        owner = tasks[span.attributes["firsttoken.task.id"]]
        assert span.parent is not None
        assert span.parent.span_id == owner.context.span_id
    # cost: the planner's total is the sum of all 21 calls
    assert all(s.attributes["firsttoken.cost.priced"] is True for s in llm)
    total = sum(s.attributes["firsttoken.cost.usd"] for s in llm)
    assert plan.attributes["firsttoken.task.cost.usd"] == pytest.approx(total, abs=1e-12)
    assert plan.attributes["firsttoken.task.llm_calls"] == 21
    for worker in workers:
        own = [s for s in llm if s.attributes["firsttoken.task.id"] == worker.attributes["firsttoken.task.id"]]
        assert worker.attributes["firsttoken.task.cost.usd"] == pytest.approx(own[0].attributes["firsttoken.cost.usd"])
    # tools: per-tool success from the stored spans alone
    outcomes = Counter(
        (s.attributes["gen_ai.tool.name"], s.attributes["firsttoken.tool.success"])
        for s in spans
        if s.name.startswith("execute_tool")
    )
    assert outcomes == {("lookup", True): 7, ("lookup", False): 3}
    assert plan.attributes["firsttoken.task.tool_calls"] == 10
    assert plan.attributes["firsttoken.task.tool_failures"] == 3
    # the model's tool arguments: one malformed
    assert sum(s.attributes.get("firsttoken.tool_calls.invalid", 0) for s in llm) == 1
    # structured outputs: 10 requested, 8 valid, one schema violation, one refusal
    structured = [s for s in llm if s.attributes.get("firsttoken.structured_output.requested")]
    assert len(structured) == 10
    assert sum(s.attributes["firsttoken.structured_output.valid"] for s in structured) == 8
    errors = Counter(s.attributes.get("firsttoken.structured_output.error", "").split(":")[0] for s in structured)
    assert errors == {"": 8, "schema": 1, "refused": 1}
