"""Put a call's ~20 end-of-call attributes on its span for a fraction of the SDK's per-attribute price.

`Span.set_attributes` validates and cleans every value under a lock, one key at a time: about 1.5 microseconds per
attribute on the CI machine, which alone would spend most of firsttoken's per-call budget. The values built here are
already valid OpenTelemetry attribute values by construction (str, bool, int, float, or tuples of one of them), so when
the span is the OpenTelemetry SDK's own, with no value-length limit and room under its attribute limit, they go into
its attribute dict in one update. Anything else — another SDK, a limit in force, a span already ended — takes the
public API, which is always correct.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import (
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
    get_current_span,
)
from opentelemetry.trace import propagation as _propagation
from opentelemetry.util.types import AttributeValue

# The key `trace.set_span_in_context` stores the span under, for code that reads or sets it without the API's
# wrappers ("" if this API version has none: callers then take the public functions).
_span_key: object = getattr(_propagation, "_SPAN_KEY", None)
SPAN_KEY = _span_key if isinstance(_span_key, str) else ""

try:
    from opentelemetry.attributes import BoundedAttributes

    _probe = BoundedAttributes(maxlen=4, attributes={"k": "v"}, immutable=False)
    _FAST_PATH_OK = isinstance(getattr(_probe, "_dict", None), dict) and hasattr(_probe, "_lock")
    del _probe
except Exception:  # pragma: no cover - a future SDK without BoundedAttributes internals
    BoundedAttributes = None  # type: ignore[assignment,misc]
    _FAST_PATH_OK = False


def set_many(span: Span, attributes: Mapping[str, AttributeValue], *, adopt: bool = False) -> None:
    """Set `attributes` on `span`; values must already be valid attribute values (see module docstring).

    With `adopt=True` the caller hands over a dict it will not touch again, and a span with no attributes yet takes
    it as its own instead of copying it.
    """
    if not attributes:
        return
    bounded = getattr(span, "_attributes", None)
    if (
        type(bounded) is BoundedAttributes
        and _FAST_PATH_OK
        and bounded.max_value_len is None
        and not bounded._immutable
        and span._end_time is None  # type: ignore[attr-defined]
        and (bounded.maxlen is None or len(bounded._dict) + len(attributes) <= bounded.maxlen)
    ):
        with bounded._lock:
            if adopt and not bounded._dict and type(attributes) is dict:
                bounded._dict = attributes
            else:
                bounded._dict.update(attributes)
        return
    span.set_attributes(attributes)


# --- starting the span ------------------------------------------------------------------------------------------------
# A span starter: (name, parent context, start time ns) -> a started CLIENT span.
SpanStarter = Callable[[str, Context, int], Span]


def span_starter(tracer: Tracer) -> SpanStarter:
    """How LLM-call spans are started on `tracer`: `tracer.start_span`, or the same span built directly.

    `Tracer.start_span` of the OpenTelemetry SDK spends a quarter of a span's cost before the span exists: the parent
    span looked up three times (itself, ParentBased, the trace state), a SamplingResult, two TraceFlags. When the
    tracer is the SDK's own and its sampler decides from the parent alone (always on/off, or parent-based over
    those: the SDK's default and every `OTEL_TRACES_SAMPLER` value but the ratio ones), the decision per parent
    state is fixed, so the span is built here the way `start_span` builds it: same ids from the tracer's id
    generator, flags, trace state, parent, resource, scope, limits, SDK self-metrics, and span processors called
    the same way. Any other tracer or sampler, a decision to drop, or an SDK whose span class no longer takes these
    arguments, goes through `tracer.start_span` (`tests/instrumentation/test_fast_span.py` compares both paths).
    """

    def public(name: str, parent: Context, start_ns: int) -> Span:
        return tracer.start_span(name, parent, _CLIENT, start_time=start_ns)

    plan = _static_plan(tracer)
    if plan is None:
        return public
    sdk_span, decisions, root_decision = plan
    build = _direct_builder(sdk_span, tracer)
    # the decision -> sampled lookup done once per parent state (an Enum's hash is a Python call)
    outcomes = tuple(tuple((d, _RECORDING.get(d)) for d in by_sampled) for by_sampled in decisions)
    root_outcome = (root_decision, _RECORDING.get(root_decision))
    sampler = tracer.sampler  # type: ignore[attr-defined]
    id_generator = tracer.id_generator  # type: ignore[attr-defined]
    flags = _FLAGS
    has_switch = hasattr(tracer, "_is_enabled")  # the SDK's tracer configurator can turn a tracer off at any time
    broken: list[bool] = []

    def start(name: str, parent: Context, start_ns: int) -> Span:
        if broken or (has_switch and not tracer._is_enabled()) or tracer.sampler is not sampler:  # type: ignore[attr-defined]
            return public(name, parent, start_ns)
        # `get_current_span(parent).get_span_context()`, written out: no span in the context (a root call) costs
        # a dict lookup instead of four Python calls
        parent_span = parent.get(SPAN_KEY) if SPAN_KEY else get_current_span(parent)
        parent_sc = (
            parent_span.get_span_context() if parent_span is not None and isinstance(parent_span, Span) else None
        )
        if parent_sc is not None and parent_sc.is_valid:
            parent_flags = parent_sc.trace_flags
            decision, sampled = outcomes[parent_sc.is_remote][parent_flags.sampled]
            if sampled is None:  # dropped: the SDK returns its non-recording span
                return public(name, parent, start_ns)
            trace_id = parent_sc.trace_id
            trace_state = parent_sc.trace_state
            random_id = parent_flags.random_trace_id
            parent_or_none: SpanContext | None = parent_sc
        else:
            decision, sampled = root_outcome
            if sampled is None:
                return public(name, parent, start_ns)
            trace_id = id_generator.generate_trace_id()
            trace_state = None
            random_id = id_generator.is_trace_id_random()
            parent_or_none = None
        context = SpanContext(
            trace_id,
            id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=flags[sampled][random_id],
            trace_state=trace_state,
        )
        try:  # an SDK whose span or tracer changed shape raises here: the public path from now on
            record_end_metrics = tracer._tracer_metrics.start_span(parent_or_none, decision)  # type: ignore[attr-defined]
            if build is not None:
                span = build(name, context, parent_or_none, record_end_metrics)
            else:
                span = _construct(sdk_span, tracer, name, context, parent_or_none, record_end_metrics)
        except (TypeError, AttributeError):
            broken.append(True)
            return public(name, parent, start_ns)
        span.start(start_time=start_ns, parent_context=parent)  # type: ignore[attr-defined]
        return span

    return start


_CLIENT = SpanKind.CLIENT
# decision -> whether the span is sampled; a decision that is not here drops the span
_RECORDING: dict[Any, bool] = {}
# [sampled][random trace id] -> the span's trace flags
_FLAGS: tuple[tuple[TraceFlags, TraceFlags], tuple[TraceFlags, TraceFlags]] = (
    (TraceFlags(TraceFlags.DEFAULT), TraceFlags(TraceFlags.DEFAULT | getattr(TraceFlags, "RANDOM_TRACE_ID", 0))),
    (TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.SAMPLED | getattr(TraceFlags, "RANDOM_TRACE_ID", 0))),
)


def _static_plan(tracer: Any) -> tuple[Any, tuple[tuple[Any, Any], tuple[Any, Any]], Any] | None:
    """(the SDK span class, decision by [parent is remote][parent sampled], decision for a root) when `tracer` is the
    SDK's own and its sampler's decision depends on the parent alone; else None."""
    try:
        from opentelemetry.sdk.trace import Tracer as SDKTracer
        from opentelemetry.sdk.trace import _Span
        from opentelemetry.sdk.trace.sampling import Decision, ParentBased, StaticSampler
    except ImportError:  # pragma: no cover - API-only installs
        return None
    if type(tracer) is not SDKTracer or not hasattr(TraceFlags, "RANDOM_TRACE_ID"):
        return None
    needed = ("sampler", "id_generator", "resource", "span_processor", "instrumentation_info", "_span_limits",
              "_instrumentation_scope", "_tracer_metrics")  # fmt: skip
    if not all(hasattr(tracer, n) for n in needed):
        return None
    _RECORDING.setdefault(Decision.RECORD_AND_SAMPLE, True)
    _RECORDING.setdefault(Decision.RECORD_ONLY, False)
    sampler = tracer.sampler

    def static(s: Any) -> Any:
        return s._decision if type(s) is StaticSampler and isinstance(getattr(s, "_decision", None), Decision) else None

    span_class = _lean(_Span)
    if type(sampler) is StaticSampler:
        d = static(sampler)
        return None if d is None else (span_class, ((d, d), (d, d)), d)
    if type(sampler) is ParentBased:
        names = ("root", "remote_parent_sampled", "remote_parent_not_sampled", "local_parent_sampled",
                 "local_parent_not_sampled")  # fmt: skip
        root, r_yes, r_no, l_yes, l_no = (static(getattr(sampler, f"_{n}", None)) for n in names)
        if None in (root, r_yes, r_no, l_yes, l_no):
            return None
        # [is_remote][sampled]
        return span_class, ((l_no, l_yes), (r_no, r_yes)), root
    return None


_LEAN: dict[type, type] = {}


def _lean(sdk_span: type) -> type:
    """`sdk_span` whose event and link lists are made when the first event or link is added, not at start, and
    which, ended, is its own read-only snapshot for span processors.

    The SDK gives every span two `BoundedList`s (a deque and a lock each) at start: ~1.3 microseconds, ~15% of a
    span's life here, for lists an LLM call's span almost never uses (an exception event on failures). Until the
    first one is added they are the empty tuple, which is what the SDK's own `ReadableSpan` holds when a span has
    none: `events`, `links`, `dropped_events`/`dropped_links` and the exporters read it the same way. An SDK
    without these hooks gets its own class back.
    """
    if sdk_span in _LEAN:
        return _LEAN[sdk_span]
    hooks = ("_new_events", "_new_links", "_add_event", "_add_link")
    try:
        from opentelemetry.sdk.util import BoundedList
    except ImportError:  # pragma: no cover - an SDK that moved it
        return sdk_span
    if not all(callable(getattr(sdk_span, hook, None)) for hook in hooks):
        return _LEAN.setdefault(sdk_span, sdk_span)

    class LLMCallSpan(sdk_span):  # type: ignore[misc]
        def _new_events(self) -> Any:
            return ()

        def _new_links(self, links: Any) -> Any:
            return super()._new_links(links) if links else ()

        def _make_list(self, field: str, maxlen: int | None) -> None:
            """The first event or link: the list the SDK would have made at start."""
            if type(getattr(self, field)) is tuple:
                with self._lock:
                    if type(getattr(self, field)) is tuple:
                        setattr(self, field, BoundedList(maxlen))

        def _add_event(self, event: Any) -> None:
            self._make_list("_events", self._limits.max_events)
            super()._add_event(event)

        def _readable_span(self) -> Any:
            # What span processors get at the end. The SDK copies the span's fields into a new ReadableSpan; an
            # ended span no longer changes (every setter checks the end time, its attributes are frozen at end),
            # so it is its own snapshot, and processors and exporters read it through the same ReadableSpan API.
            return self

        def _add_link(self, link: Any) -> None:
            self._make_list("_links", self._limits.max_links)
            super()._add_link(link)

    return _LEAN.setdefault(sdk_span, LLMCallSpan)


SpanBuilder = Callable[[str, SpanContext, "SpanContext | None", Any], Span]


def _construct(
    span_class: Any, tracer: Any, name: str, context: SpanContext, parent: SpanContext | None, record_end_metrics: Any
) -> Span:
    """A CLIENT span of `span_class` made by its constructor, as `Tracer.start_span` makes it."""
    return span_class(  # type: ignore[no-any-return]
        name=name,
        context=context,
        parent=parent,
        sampler=tracer.sampler,
        resource=tracer.resource,
        attributes=None,
        span_processor=tracer.span_processor,
        kind=_CLIENT,
        links=(),
        instrumentation_info=tracer.instrumentation_info,
        limits=tracer._span_limits,
        instrumentation_scope=tracer._instrumentation_scope,
        record_end_metrics=record_end_metrics,
    )


def _direct_builder(span_class: Any, tracer: Any) -> SpanBuilder | None:
    """A function that builds a started-to-be CLIENT span of `span_class` by setting its fields directly, or None.

    The SDK's constructors (Span, then ReadableSpan, all by keyword) cost ~1.3 of the ~2.6 microseconds of making a
    span here. The fields are the ones the constructor sets for a CLIENT span with no attributes, events or links,
    with this tracer's resource, scope, limits and processors (read once: the SDK's Tracer never reassigns them;
    `add_span_processor` adds to the same multi-processor). Used only when a span built this way has exactly the
    fields, types and scalar values of one the SDK's constructor builds (checked once per tracer, here), so an SDK
    that adds, drops or changes a field gets its constructor.
    """
    try:
        from opentelemetry.attributes import BoundedAttributes as Attributes

        resource = tracer.resource
        processor = tracer.span_processor
        limits = tracer._span_limits
        info = tracer.instrumentation_info
        scope = tracer._instrumentation_scope
        sampler = tracer.sampler
        probe = SpanContext(1, 1, is_remote=False)
        reference: Any = _construct(span_class, tracer, "probe", probe, None, None)
    except Exception:
        return None
    unset = reference._status  # the SDK's shared default Status(UNSET)
    max_attributes = limits.max_span_attributes
    max_length = limits.max_span_attribute_length
    new = span_class.__new__
    lock = threading.Lock  # the shape check below fails if the SDK's span holds another kind of lock

    def build(name: str, context: SpanContext, parent: SpanContext | None, record_end_metrics: Any) -> Span:
        span = new(span_class)
        span._name = name
        span._context = context
        span._kind = _CLIENT
        span._instrumentation_info = info
        span._instrumentation_scope = scope
        span._parent = parent
        span._start_time = None
        span._end_time = None
        span._resource = resource
        span._status = unset
        span._sampler = sampler
        span._trace_config = None
        span._record_exception = True
        span._set_status_on_exception = True
        span._span_processor = processor
        span._limits = limits
        span._lock = lock()
        span._attributes = Attributes(max_attributes, None, immutable=False, max_value_len=max_length)
        span._events = ()
        span._links = ()
        span._record_end_metrics = record_end_metrics
        return span  # type: ignore[no-any-return]

    try:
        built = build("probe", probe, None, None)
    except Exception:
        return None
    return build if _shape(built) == _shape(reference) else None


def _shape(span: Any) -> dict[str, tuple[type, object]]:
    """Each field's type, and its value when it is a plain scalar (flags, names, None)."""
    scalar = (bool, int, float, str, type(None))
    fields: dict[str, tuple[type, object]] = {
        name: (type(value), value if isinstance(value, scalar) else None) for name, value in vars(span).items()
    }
    fields["_attributes"] = (type(span._attributes), tuple(sorted(vars(span._attributes))))
    fields["_status"] = (type(span._status), span._status.status_code)
    return fields
