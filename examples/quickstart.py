"""firsttoken in one screen: real Anthropic and OpenAI SDK clients, a local fake provider, one line of setup.

Run: python examples/quickstart.py

It starts the fake provider in-process (no network, no API keys), calls `firsttoken.instrument()` exactly as a
service would, makes a voice-agent-style streamed turn twice on a cached system prompt, a classification call, a
tool call, and a call that gets throttled and retried, then prints what each span recorded. To send the spans to a
collector instead, drop the `tracer_provider=` argument and set OTEL_EXPORTER_OTLP_ENDPOINT.
"""

from __future__ import annotations

import anthropic
import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import firsttoken
from firsttoken.testing import FakeProviderConfig, FakeProviderServer

SYSTEM = [
    {
        "type": "text",
        "text": "You are a concise voice agent for a travel company. " * 40,
        "cache_control": {"type": "ephemeral"},
    }
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def main() -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    firsttoken.instrument(tracer_provider=provider, metrics=False)

    with FakeProviderServer(config=FakeProviderConfig(seed=1, ttft_ms=120, token_ms=15)) as fake:
        claude = anthropic.Anthropic(api_key="not-needed", base_url=fake.anthropic_base_url)
        gpt = openai.OpenAI(api_key="not-needed", base_url=fake.openai_base_url)
        for question in ("Can I change my flight?", "And my seat?"):
            with claude.messages.stream(
                model="claude-haiku-4-5", max_tokens=200, system=SYSTEM,
                messages=[{"role": "user", "content": question}],
            ) as stream:  # fmt: skip
                print("claude:", stream.get_final_text())
        gpt.chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "user", "content": "Classify: 'my card was charged twice'"}],
            response_format={"type": "json_object"},
        )
        gpt.chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "user", "content": "Weather in Lisbon?"}],
            tools=[WEATHER],
            extra_headers={"x-fake-tool-call": "valid"},
        )
        claude.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "Busy?"}],
            extra_headers={"x-fake-fault": "429", "x-fake-fault-attempts": "1"},
        )  # fmt: skip

    print(f"\n{'span':28} {'in':>6} {'cached':>6} {'out':>4} {'TTFT ms':>8} {'retries':>7}  tools / finish")
    for span in spans.get_finished_spans():
        a = span.attributes or {}
        ttft = a.get("gen_ai.response.time_to_first_chunk")
        tools = ",".join(a.get("firsttoken.tool_calls.names", ()))
        what = tools or ",".join(a.get("gen_ai.response.finish_reasons", ()))
        print(
            f"{span.name:28} {a.get('gen_ai.usage.input_tokens', '-'):>6} "
            f"{a.get('gen_ai.usage.cache_read.input_tokens', '-'):>6} {a.get('gen_ai.usage.output_tokens', '-'):>4} "
            f"{(f'{ttft * 1000:.0f}' if ttft else '-'):>8} {a.get('firsttoken.retries', 0):>7}  "
            f"{what}"
        )
    firsttoken.uninstrument()


if __name__ == "__main__":
    main()
