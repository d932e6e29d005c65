"""Realistic OTLP trace requests without running an SDK: LLM call spans shaped like firsttoken's (~30 attributes),
for the collector's durability tests and throughput benchmark, where thousands of spans per second are needed and
every span id must be known to the sender."""

from __future__ import annotations

import random
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

_MODELS = (("anthropic", "claude-haiku-4-5"), ("openai", "gpt-5-mini"), ("anthropic", "claude-sonnet-4-5"))


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if isinstance(value, list):
        return KeyValue(
            key=key, value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=v) for v in value]))
        )
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def llm_span(rng: random.Random, *, start_ns: int, trace_id: bytes, span_id: bytes) -> Span:
    provider, model = rng.choice(_MODELS)
    cache_read = rng.choice((0, 0, 2048, 4096))
    input_tokens = cache_read + rng.randint(20, 400)
    output_tokens = rng.randint(5, 300)
    cost = input_tokens * 1e-6 + output_tokens * 5e-6
    streamed = rng.random() < 0.6
    failed = rng.random() < 0.03
    duration = rng.randint(150_000_000, 2_000_000_000)
    attributes: dict[str, object] = {
        "gen_ai.provider.name": provider,
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.response.model": f"{model}-20251001",
        "gen_ai.request.max_tokens": 512,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.stream": streamed,
        "gen_ai.response.id": f"msg_{rng.getrandbits(64):016x}",
        "gen_ai.response.finish_reasons": ["end_turn"],
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": 0,
        "server.address": "api.example.com",
        "server.port": 443,
        "firsttoken.api.surface": "messages" if provider == "anthropic" else "chat.completions",
        "firsttoken.cache.hit": cache_read > 0,
        "firsttoken.cache.hit_ratio": cache_read / input_tokens,
        "firsttoken.cost.priced": True,
        "firsttoken.cost.usd": cost,
        "firsttoken.cost.input_usd": cost * 0.4,
        "firsttoken.cost.output_usd": cost * 0.5,
        "firsttoken.cost.cache_read_usd": cost * 0.1,
        "firsttoken.cost.cache_write_usd": 0.0,
        "firsttoken.retries": 0,
        "firsttoken.task.id": f"{rng.getrandbits(64):016x}",
        "firsttoken.task.name": rng.choice(("voice-turn", "classify", "plan")),
        "firsttoken.tenant": rng.choice(("acme", "globex", "initech")),
        "user.id": f"user-{rng.randint(1, 500)}",
    }
    if streamed:
        attributes["gen_ai.response.time_to_first_chunk"] = rng.uniform(0.12, 0.9)
        attributes["firsttoken.stream.completed"] = True
    if failed:
        attributes["error.type"] = "RateLimitError"
        attributes["firsttoken.error.category"] = "rate_limit"
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        name=f"chat {model}",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + duration,
        attributes=[_kv(k, v) for k, v in attributes.items()],
        status=Status(code=Status.STATUS_CODE_ERROR if failed else Status.STATUS_CODE_UNSET),
    )


def trace_request(
    rng: random.Random, spans: int, *, service: str = "synthetic", start_ns: int | None = None
) -> tuple[ExportTraceServiceRequest, list[str]]:
    """A request with `spans` LLM spans; returns it and the hex span ids it carries."""
    base = time.time_ns() if start_ns is None else start_ns
    built = []
    ids = []
    for i in range(spans):
        span_id = rng.getrandbits(64).to_bytes(8, "big")
        built.append(
            llm_span(rng, start_ns=base + i * 1000, trace_id=rng.getrandbits(128).to_bytes(16, "big"), span_id=span_id)
        )
        ids.append(span_id.hex())
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[_kv("service.name", service), _kv("deployment.environment", "test")]),
                scope_spans=[ScopeSpans(scope=InstrumentationScope(name="firsttoken", version="0.1.0"), spans=built)],
            )
        ]
    )
    return request, ids
