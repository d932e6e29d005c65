"""A service traced by something other than firsttoken, exporting OTLP/HTTP to the collector: either the Anthropic
SDK's own tracing (`native`) or OpenLLMetry's instrumentations (`openllmetry`). Prints one JSON line per call with the
usage the provider reported, so the test can check what `llm_calls` derived from the peer's spans.

Run: python -m tests.collector.peer_workload <native|openllmetry> <fake-provider url> <collector http url>
"""

from __future__ import annotations

import json
import sys

import anthropic
import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

SYSTEM = "You answer in one word. " * 30


def main(argv: list[str]) -> int:
    mode, fake_url, collector_url = argv
    provider = TracerProvider(resource=Resource.create({"service.name": f"peer-{mode}"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector_url}/v1/traces")))
    trace.set_tracer_provider(provider)
    if mode == "openllmetry":
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        AnthropicInstrumentor().instrument()
        OpenAIInstrumentor().instrument()
    claude = anthropic.Anthropic(
        api_key="k", base_url=fake_url, **({"open_telemetry": False} if mode == "openllmetry" else {})
    )
    calls = []
    for turn in range(2):  # the first writes the prompt cache, the second reads it
        message = claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=32,
            system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": f"turn {turn}"}],
        )
        usage = message.usage
        calls.append(
            {
                "provider": "anthropic",
                "model": "claude-haiku-4-5",
                "input_uncached": usage.input_tokens,
                "cache_read": usage.cache_read_input_tokens or 0,
                "cache_write": usage.cache_creation_input_tokens or 0,
                "output": usage.output_tokens,
            }
        )
    if mode == "openllmetry":
        gpt = openai.OpenAI(api_key="k", base_url=f"{fake_url}/v1")
        completion = gpt.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}])
        assert completion.usage is not None
        details = completion.usage.prompt_tokens_details
        cached = (details.cached_tokens or 0) if details else 0
        calls.append(
            {
                "provider": "openai",
                "model": "gpt-5-mini",
                "input_uncached": completion.usage.prompt_tokens - cached,
                "cache_read": cached,
                "cache_write": 0,
                "output": completion.usage.completion_tokens,
            }
        )
    provider.shutdown()
    for call in calls:
        print(json.dumps(call))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
