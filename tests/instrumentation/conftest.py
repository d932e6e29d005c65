"""Fixtures for instrumentation tests: a real fake-provider server, real SDK clients, in-memory telemetry.

The OpenTelemetry globals can be set once per process, so the session installs one TracerProvider (in-memory
exporter) and one MeterProvider (in-memory reader) as the application's; `firsttoken.instrument()` is then called
with no arguments, as a service would, and must pick them up. The Anthropic SDK's own tracing also reports to the
global provider, which is what makes the one-span-per-call tests meaningful.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import firsttoken
from firsttoken.testing import FakeProviderConfig, FakeProviderServer

# anthropic 0.x guards `isinstance(x, Stream)` with a metaclass that rejects every type but Stream itself (for its
# old MessageStream), so no wrapper of any kind passes it there; `x.__class__ is Stream` still holds.
STREAM_ISINSTANCE_WORKS = type(anthropic.Stream) is type
# The httpx the installed SDKs are built on (httpx2 from anthropic 2 / openai 3, httpx before).
HTTPX = getattr(anthropic._base_client, "httpx2", None) or anthropic._base_client.httpx

EXPORTER = InMemorySpanExporter()
READER = InMemoryMetricReader()
_TP = TracerProvider()
_TP.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(_TP)
metrics.set_meter_provider(MeterProvider(metric_readers=[READER]))


class Telemetry:
    def spans(self) -> list[ReadableSpan]:
        return list(EXPORTER.get_finished_spans())

    def llm_spans(self) -> list[ReadableSpan]:
        """firsttoken's LLM call spans (CLIENT spans of the `firsttoken` scope)."""
        return [
            s
            for s in self.spans()
            if s.instrumentation_scope is not None
            and s.instrumentation_scope.name == "firsttoken"
            and s.kind is SpanKind.CLIENT
        ]

    def client_spans(self) -> list[ReadableSpan]:
        """Every CLIENT span of any instrumentation: firsttoken's and the Anthropic SDK's own."""
        return [s for s in self.spans() if s.kind is SpanKind.CLIENT]

    def one(self) -> dict[str, Any]:
        """The attributes of the single LLM span recorded, asserting that there is exactly one."""
        spans = self.client_spans()
        assert len(spans) == 1, [(s.name, s.instrumentation_scope) for s in spans]
        assert spans[0].instrumentation_scope is not None
        assert spans[0].instrumentation_scope.name == "firsttoken"
        return dict(spans[0].attributes or {})

    def span(self) -> ReadableSpan:
        spans = self.client_spans()
        assert len(spans) == 1, [(s.name, s.instrumentation_scope) for s in spans]
        return spans[0]

    def clear(self) -> None:
        EXPORTER.clear()

    def metric_points(self) -> dict[str, list[Any]]:
        data = READER.get_metrics_data()
        out: dict[str, list[Any]] = {}
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
                    out.setdefault(f"{metric.name}#unit", []).append(metric.unit)
        return out


async def settle() -> None:
    """Let abandoned async generators be finalised (asyncio closes them on a later loop turn)."""
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    firsttoken.instrument()
    gc.collect()  # a stream an earlier test dropped must not end inside this one
    EXPORTER.clear()
    try:
        yield Telemetry()
    finally:
        firsttoken.uninstrument()
        EXPORTER.clear()


@pytest.fixture(scope="session")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(config=FakeProviderConfig(seed=11)) as running:
        yield running


@pytest.fixture
def unique() -> str:
    """A prompt prefix no other test used, so the fake provider's prompt cache starts cold."""
    return f"[{uuid.uuid4().hex}] "


@pytest.fixture
def anthropic_client(server: FakeProviderServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="sk-ant-secret", base_url=server.anthropic_base_url, max_retries=0) as client:
        yield client


@pytest.fixture
def openai_client(server: FakeProviderServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="sk-openai-secret", base_url=server.openai_base_url, max_retries=0) as client:
        yield client


@pytest.fixture
async def async_anthropic_client(server: FakeProviderServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key="sk-ant-secret", base_url=server.anthropic_base_url, max_retries=0
    ) as client:
        yield client


@pytest.fixture
async def async_openai_client(server: FakeProviderServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk-openai-secret", base_url=server.openai_base_url, max_retries=0) as client:
        yield client


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> Any:
    from tests.instrumentation._flavor import Flavor

    return Flavor(request.param)


@pytest.fixture
def anth(flavor: Any, anthropic_client: anthropic.Anthropic, async_anthropic_client: anthropic.AsyncAnthropic) -> Any:
    return async_anthropic_client if flavor.is_async else anthropic_client


@pytest.fixture
def oai(flavor: Any, openai_client: openai.OpenAI, async_openai_client: openai.AsyncOpenAI) -> Any:
    return async_openai_client if flavor.is_async else openai_client
