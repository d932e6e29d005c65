"""A service process for the end-to-end tests: `firsttoken.instrument()` configured purely from `OTEL_*`, real SDK
clients against the fake provider, and a record of every span it exported (for the test to compare with ClickHouse).

Run as `python -m tests.collector.instrumented_workload <fake-provider base url> <spans.json>` with
OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_PROTOCOL pointing at the collector.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anthropic
import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import firsttoken

LOOKUP = {
    "name": "lookup",
    "description": "look something up",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
}
OPENAI_LOOKUP = {
    "type": "function",
    "function": {"name": "lookup", "parameters": LOOKUP["input_schema"]},
}
VERDICT = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
    },
}
SYSTEM = "You are a terse voice agent. " * 40


def run(base_url: str) -> None:
    claude = anthropic.Anthropic(api_key="k", base_url=base_url, max_retries=2)
    gpt = openai.OpenAI(api_key="k", base_url=f"{base_url}/v1", max_retries=2)
    with firsttoken.attributes(tenant="acme", user="u-1"):
        # voice turns: streamed, cached system prompt (the first writes the cache, the rest read it)
        for turn in range(3):
            with claude.messages.stream(
                model="claude-haiku-4-5",
                max_tokens=64,
                system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": f"turn {turn}"}],
                extra_headers={"x-fake-ttft-ms": "20"},
            ) as stream:
                for _ in stream.text_stream:
                    pass
            stream_gpt = gpt.chat.completions.create(
                model="gpt-5-mini",
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"turn {turn}"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            for _ in stream_gpt:
                pass
        # classification with structured output: one valid, one schema-violating
        for mode in ("valid", "schema-violating"):
            gpt.chat.completions.create(
                model="gpt-5-mini",
                messages=[{"role": "user", "content": "classify"}],
                response_format=VERDICT,  # type: ignore[arg-type]
                extra_headers={"x-fake-structured": mode},
            )
        # a planner task with tool calls (one malformed), tool outcomes and an unpriced model
        with firsttoken.task("plan", agent="planner"):
            for mode in ("valid", "malformed"):
                claude.messages.create(
                    model="claude-haiku-4-5",
                    max_tokens=32,
                    tools=[LOOKUP],  # type: ignore[list-item]
                    messages=[{"role": "user", "content": "research"}],
                    extra_headers={"x-fake-tool-call": mode},
                )
            gpt.chat.completions.create(
                model="gpt-5-mini",
                tools=[OPENAI_LOOKUP],  # type: ignore[list-item]
                messages=[{"role": "user", "content": "look up"}],
                extra_headers={"x-fake-tool-call": "schema-violating"},
            )
            with firsttoken.tool("lookup"):
                pass
            with firsttoken.tool("lookup") as outcome:
                outcome.fail("backend down")
            gpt.chat.completions.create(model="acme-private-model-1", messages=[{"role": "user", "content": "hi"}])
        # a throttled call that succeeds on retry, and one that fails
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=16,
            messages=[{"role": "user", "content": "busy?"}],
            extra_headers={"x-fake-fault": "529", "x-fake-fault-attempts": "1", "x-fake-retry-after": "0.01"},
        )
        try:
            gpt.with_options(max_retries=0).chat.completions.create(
                model="gpt-5-mini", messages=[{"role": "user", "content": "x"}], extra_headers={"x-fake-fault": "500"}
            )
        except openai.InternalServerError:
            pass
        gpt.embeddings.create(model="text-embedding-3-small", input=["a", "b"])


def _span_json(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else "",
        "name": span.name,
        "kind": span.kind.name,
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else "",
        "status": span.status.status_code.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()},
    }


def main(argv: list[str]) -> int:
    base_url, out = argv
    firsttoken.instrument()
    recorded = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(recorded))  # type: ignore[attr-defined]
    run(base_url)
    firsttoken.shutdown()
    with open(out, "w") as handle:
        json.dump([_span_json(s) for s in recorded.get_finished_spans()], handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
