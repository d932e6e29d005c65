"""firsttoken's span starter builds the same span `Tracer.start_span` builds, for every parent and static sampler."""

from __future__ import annotations

from typing import Any

import opentelemetry.sdk.trace as sdk_trace
import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    Decision,
    ParentBased,
    Sampler,
    StaticSampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState

from firsttoken.core.fast_span import span_starter


class _Ids(IdGenerator):
    def __init__(self) -> None:
        self.n = 0

    def generate_span_id(self) -> int:
        self.n += 1
        return self.n

    def generate_trace_id(self) -> int:
        self.n += 1
        return 1 << 70 | self.n


class _Recorder(SpanProcessor):
    def __init__(self) -> None:
        self.started: list[tuple[Any, Context | None]] = []
        self.ended: list[ReadableSpan] = []

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        self.started.append((span, parent_context))

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def _parents() -> dict[str, Context]:
    state = TraceState([("vendor", "v1")])
    sampled = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)
    return {
        "root": Context(),
        "local sampled": trace.set_span_in_context(
            NonRecordingSpan(SpanContext(5 << 64, 77, is_remote=False, trace_flags=sampled, trace_state=state))
        ),
        "local not sampled": trace.set_span_in_context(
            NonRecordingSpan(SpanContext(6 << 64, 78, is_remote=False, trace_flags=TraceFlags(0)))
        ),
        "remote sampled, no random flag": trace.set_span_in_context(
            NonRecordingSpan(
                SpanContext(7 << 64, 79, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=state)
            )
        ),
        "remote not sampled": trace.set_span_in_context(
            NonRecordingSpan(SpanContext(8 << 64, 80, is_remote=True, trace_flags=TraceFlags(0)))
        ),
        "invalid parent": trace.set_span_in_context(trace.INVALID_SPAN),
    }


def _view(span: Any, *, snapshot: bool = False) -> dict[str, Any]:
    """What a span carries. `snapshot`: the span as a processor's `on_end` got it, where the SDK passes a
    ReadableSpan copy and firsttoken's span passes itself (no live-span fields such as limits compared)."""
    if not isinstance(span, ReadableSpan):
        return {"type": type(span).__name__, "context": span.get_span_context(), "recording": span.is_recording()}
    ctx = span.context
    assert ctx is not None
    return {
        # firsttoken's spans are the SDK's span class with lazily made event/link lists (`fast_span._lean`)
        "type": "ReadableSpan" if snapshot else "_Span" if isinstance(span, sdk_trace._Span) else type(span).__name__,
        "name": span.name,
        "trace_id": ctx.trace_id,
        "span_id": ctx.span_id,
        "flags": int(ctx.trace_flags),
        "trace_state": ctx.trace_state.to_header(),
        "remote": ctx.is_remote,
        "parent": span.parent,
        "kind": span.kind,
        "resource": span.resource.attributes,
        "scope": span.instrumentation_scope,
        "attributes": dict(span.attributes or {}),
        "events": [(e.name, dict(e.attributes or {}), e.timestamp) for e in span.events],
        "links": [(link.context, dict(link.attributes or {})) for link in span.links],
        "status": span.status.status_code,
        "start": span.start_time,
        "end": span.end_time,
        "limits": None if snapshot else span._limits.max_attributes if hasattr(span, "_limits") else None,
    }


SAMPLERS: dict[str, Sampler] = {
    "always on": ALWAYS_ON,
    "always off": ALWAYS_OFF,
    "parent-based always on (default)": DEFAULT_ON,
    "parent-based always off": DEFAULT_OFF,
    "record only": StaticSampler(Decision.RECORD_ONLY),
    "parent-based, unsampled local parents recorded": ParentBased(ALWAYS_ON, local_parent_not_sampled=ALWAYS_ON),
}


@pytest.mark.parametrize("sampler_name", list(SAMPLERS))
def test_fast_start_builds_the_span_start_span_builds(sampler_name: str) -> None:
    results = {}
    parents = _parents()
    resource = Resource.create({"service.name": "svc", "service.instance.id": "i-1"})
    for path in ("public", "fast"):
        ids = _Ids()
        recorder = _Recorder()
        provider = TracerProvider(sampler=SAMPLERS[sampler_name], id_generator=ids, resource=resource)
        provider.add_span_processor(recorder)
        tracer = provider.get_tracer("firsttoken", "9.9")
        start = span_starter(tracer)
        assert start.__name__ == "start"  # the fast path applies to every sampler here
        views = []
        for name, parent in parents.items():
            if path == "public":
                span = tracer.start_span(f"chat {name}", parent, SpanKind.CLIENT, start_time=1_000)
            else:
                span = start(f"chat {name}", parent, 1_000)
            span.end(end_time=2_000)
            views.append((name, _view(span)))
        results[path] = (
            views,
            [(_view(s), p) for s, p in recorder.started],
            [_view(s, snapshot=True) for s in recorder.ended],
        )
        provider.shutdown()
    assert results["fast"] == results["public"]


def test_other_tracers_and_samplers_take_the_public_path() -> None:
    ratio = TracerProvider(sampler=TraceIdRatioBased(0.5)).get_tracer("firsttoken")
    assert span_starter(ratio).__name__ == "public"
    assert span_starter(trace.NoOpTracer()).__name__ == "public"
    tracer = TracerProvider().get_tracer("firsttoken")
    start = span_starter(tracer)
    tracer.sampler = TraceIdRatioBased(0.0)  # type: ignore[attr-defined]  # replaced after the starter was made
    assert not start("chat m", Context(), 1).is_recording()


def test_a_disabled_tracer_and_a_changed_sdk_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    tracer = TracerProvider().get_tracer("firsttoken")
    start = span_starter(tracer)
    assert start.__name__ == "start"
    monkeypatch.setattr(tracer, "_is_enabled", lambda: False)
    assert not start("chat m", Context(), 1).is_recording()
    monkeypatch.undo()

    class _Changed(sdk_trace._Span):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise TypeError("unexpected keyword argument")

    monkeypatch.setattr(sdk_trace, "_Span", _Changed)
    start = span_starter(tracer)  # built against the "changed" span class
    monkeypatch.undo()
    for _ in range(2):
        span = start("chat m", Context(), 1)
        assert type(span) is sdk_trace._Span
        assert span.is_recording()
        span.end()


def test_event_and_link_lists_are_made_on_first_use_and_export_as_the_sdks() -> None:
    from opentelemetry.sdk.trace import SpanLimits

    ended = {}
    second = SpanContext(10 << 64, 100, is_remote=False)
    for path in ("public", "fast"):
        recorder = _Recorder()
        provider = TracerProvider(
            span_limits=SpanLimits(max_events=2, max_links=1), id_generator=_Ids(), resource=Resource.create({})
        )
        provider.add_span_processor(recorder)
        tracer = provider.get_tracer("firsttoken")
        fast = span_starter(tracer)

        def start(name: str, tracer: Any = tracer, fast: Any = fast, path: str = path) -> Any:
            if path == "public":
                return tracer.start_span(name, Context(), SpanKind.CLIENT, start_time=1)
            return fast(name, Context(), 1)

        start("chat quiet").end(end_time=2)
        busy = start("chat busy")
        busy.add_event("retry", {"n": 1}, timestamp=5)
        busy.add_event("exception", {"exception.type": "ValueError"}, timestamp=6)
        busy.add_event("third", timestamp=7)  # over the limit of 2: the oldest is dropped, as the SDK does
        busy.add_link(SpanContext(9 << 64, 99, is_remote=False), {"why": "fan-in"})
        busy.add_link(second)
        busy.end(end_time=2)
        busy.add_event("after end")  # ignored, as on any ended span
        ended[path] = [(_view(s, snapshot=True), s.dropped_events, s.dropped_links) for s in recorder.ended]
        provider.shutdown()
    assert ended["fast"] == ended["public"]
    (quiet, quiet_dropped_events, quiet_dropped_links), (busy_view, dropped_events, dropped_links) = ended["fast"]
    assert (quiet["events"], quiet["links"], quiet_dropped_events, quiet_dropped_links) == ([], [], 0, 0)
    assert [name for name, _, _ in busy_view["events"]] == ["exception", "third"]
    assert busy_view["links"] == [(second, {})]
    assert (dropped_events, dropped_links) == (1, 1)


def test_a_span_class_with_other_fields_is_built_by_its_own_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    from firsttoken.core import fast_span

    tracer = TracerProvider().get_tracer("firsttoken")
    assert fast_span._direct_builder(fast_span._lean(sdk_trace._Span), tracer) is not None  # this SDK: built directly

    class _NewField(sdk_trace._Span):  # a future SDK whose span gained a field
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._new_field = "set by the SDK"

    monkeypatch.setattr(sdk_trace, "_Span", _NewField)
    assert fast_span._direct_builder(fast_span._lean(_NewField), tracer) is None
    span = span_starter(tracer)("chat m", Context(), 1)
    assert isinstance(span, _NewField)
    assert span._new_field == "set by the SDK"  # type: ignore[attr-defined]
    span.end()
