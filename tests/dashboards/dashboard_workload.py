"""The dashboard tests' service process: the end-to-end workload (tests/collector/instrumented_workload.py) plus
what an on-call screen needs to show something: voice turns on two models with TTFTs on both sides of the 400 ms
budget, rate-limit / overload / timeout failures, fully priced tasks (one failing) with tool outcomes, two tenants.

Run as `python -m tests.dashboards.dashboard_workload <fake-provider base url> <spans.json>`.
"""

from __future__ import annotations

import json
import sys

import anthropic
import openai
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import firsttoken
from tests.collector import instrumented_workload

# TTFTs of the voice turns: a few over the 400 ms budget (kept short so the workload stays quick)
CLAUDE_TTFT_MS = (15, 30, 45, 60, 420, 90)
GPT_TTFT_MS = (10, 25, 440, 35, 50)


def run_extra(base_url: str) -> None:
    claude = anthropic.Anthropic(api_key="k", base_url=base_url, max_retries=0)
    gpt = openai.OpenAI(api_key="k", base_url=f"{base_url}/v1", max_retries=0)
    system = [{"type": "text", "text": instrumented_workload.SYSTEM, "cache_control": {"type": "ephemeral"}}]
    with firsttoken.attributes(tenant="globex"):
        for ttft in CLAUDE_TTFT_MS:
            with claude.messages.stream(
                model="claude-haiku-4-5",
                max_tokens=32,
                system=system,  # type: ignore[arg-type]
                messages=[{"role": "user", "content": "turn"}],
                extra_headers={"x-fake-ttft-ms": str(ttft)},
            ) as stream:
                for _ in stream.text_stream:
                    pass
        for ttft in GPT_TTFT_MS:
            for _ in gpt.chat.completions.create(
                model="gpt-5-mini",
                messages=[
                    {"role": "system", "content": instrumented_workload.SYSTEM},
                    {"role": "user", "content": "turn"},
                ],
                stream=True,
                stream_options={"include_usage": True},
                extra_headers={"x-fake-ttft-ms": str(ttft)},
            ):
                pass
        # failures: rate limit, overload, timeout
        for fault, client in (("429", "gpt"), ("529", "claude"), ("429", "claude")):
            try:
                if client == "gpt":
                    gpt.chat.completions.create(
                        model="gpt-5-mini",
                        messages=[{"role": "user", "content": "x"}],
                        extra_headers={"x-fake-fault": fault},
                    )
                else:
                    claude.messages.create(
                        model="claude-haiku-4-5",
                        max_tokens=8,
                        messages=[{"role": "user", "content": "x"}],
                        extra_headers={"x-fake-fault": fault},
                    )
            except (openai.APIStatusError, anthropic.APIStatusError):
                pass
        try:
            gpt.with_options(timeout=0.2).chat.completions.create(
                model="gpt-5-mini",
                messages=[{"role": "user", "content": "x"}],
                extra_headers={"x-fake-fault": "hang", "x-fake-hang-s": "0.5"},
            )
        except openai.APITimeoutError:
            pass
        # fully priced triage tasks; the last one fails
        for number in range(4):
            try:
                with firsttoken.task("triage", queue="billing"):
                    claude.messages.create(
                        model="claude-haiku-4-5",
                        max_tokens=16 * (number + 1),
                        messages=[{"role": "user", "content": "triage"}],
                        extra_headers={"x-fake-output-tokens": str(8 * (number + 1))},
                    )
                    gpt.chat.completions.create(
                        model="gpt-5-mini",
                        messages=[{"role": "user", "content": "classify"}],
                        response_format=instrumented_workload.VERDICT,  # type: ignore[arg-type]
                        extra_headers={"x-fake-structured": "valid" if number != 1 else "invalid-json"},
                    )
                    with firsttoken.tool("search") as outcome:
                        if number == 2:
                            outcome.fail("index offline")
                    if number == 3:
                        raise RuntimeError("triage gave up")
            except RuntimeError:
                pass


def main(argv: list[str]) -> int:
    base_url, out = argv
    firsttoken.instrument()
    recorded = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(recorded))  # type: ignore[attr-defined]
    instrumented_workload.run(base_url)
    run_extra(base_url)
    firsttoken.shutdown()
    with open(out, "w") as handle:
        json.dump([instrumented_workload._span_json(s) for s in recorded.get_finished_spans()], handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
