"""One API call's span, from just before the HTTP request to the end of the response or stream, ended exactly once."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from firsttoken import semconv
from firsttoken._guard import report_internal_error
from firsttoken.core.attributes import outcome_attributes
from firsttoken.core.contract import Endpoint, ErrorInfo, RequestInfo
from firsttoken.core.facts import CallFacts
from firsttoken.core.fast_span import SPAN_KEY, set_many

if TYPE_CHECKING:
    from firsttoken.core.plugin import ProviderPlugin
    from firsttoken.core.runtime import Runtime

# The call whose HTTP request is in flight on this task/thread: the retry hook and the Anthropic SDK's own-span
# suppression read it. Set only for the duration of the SDK's `request()`.
CURRENT_CALL: ContextVar[LLMCall | None] = ContextVar("firsttoken_current_call", default=None)

_THROTTLE_STATUSES = frozenset((429, 529))
_CLIENT = SpanKind.CLIENT
_perf_counter = time.perf_counter
_time_ns = time.time_ns


def _runtime_context_var() -> tuple[object, ContextVar[Context] | None]:
    """(OpenTelemetry's runtime context, the ContextVar it keeps the current context in, when it is the default
    contextvars one). A call reads, attaches and detaches its context several times: through the ContextVar
    directly, that is three Python frames fewer each time than `opentelemetry.context`'s wrappers, with the same
    effect (`attach` is `ContextVar.set`, `detach` `ContextVar.reset`, `get_current` `ContextVar.get`)."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    if not SPAN_KEY:  # pragma: no cover - a future API that keys the span differently
        return runtime, None
    try:
        from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
    except ImportError:  # pragma: no cover - a future API without it
        return runtime, None
    var = getattr(runtime, "_current_context", None)
    if type(runtime) is ContextVarsRuntimeContext and isinstance(var, ContextVar):
        return runtime, var
    return runtime, None


# Checked per call against `opentelemetry.context._RUNTIME_CONTEXT`: anything else takes the public functions.
_RUNTIME, _CONTEXT_VAR = _runtime_context_var()


class LLMCall:
    __slots__ = (
        "_context_token",
        "_end_token",
        "_var_token",
        "endpoint",
        "error_type",
        "facts",
        "failed",
        "plugin",
        "provider",
        "request",
        "retries",
        "rt",
        "server",
        "span",
        "start_ns",
        "t0",
        "task",
        "throttled",
    )

    def __init__(
        self,
        rt: Runtime,
        plugin: ProviderPlugin,
        endpoint: Endpoint,
        provider: str,
        server: tuple[str | None, int | None],
        body: Mapping[str, Any],
        stream: bool,
    ) -> None:
        self.rt = rt
        self.plugin = plugin
        self.endpoint = endpoint
        self.provider = provider
        self.server = server
        self.t0 = _perf_counter()
        self.start_ns = start_ns = _time_ns()
        capture = rt.capture_enabled
        request = endpoint.read_request(body, capture)
        self.request: RequestInfo = request
        facts = CallFacts()
        # Output text and tool arguments are accumulated only when something reads them: content capture,
        # structured-output validation, tool-argument validation.
        if capture or request.structured is not None:
            facts.output_parts = []
        if capture or request.tools is not None:
            facts.tool_arguments = []
        self.facts = facts
        self.retries = 0
        self.throttled = False
        self.failed = False
        self.error_type: str | None = None
        self.task: Any = None  # the firsttoken task this call runs in, set by the task stage
        # One-shot token: list.pop() is atomic under the GIL, so the span ends exactly once even if a close and a
        # finalizer race; cheaper than allocating a lock per call.
        self._end_token: list[None] = [None]
        self._var_token: Token[LLMCall | None] | None = None
        model = request.model
        operation = endpoint.operation
        attrs = request.attributes
        attrs[semconv.OPERATION_NAME] = operation
        attrs[semconv.PROVIDER_NAME] = provider
        if model:
            attrs[semconv.REQUEST_MODEL] = model
            name = f"{operation} {model}"
        else:
            name = operation
        # The parent is read once and handed to the SDK (and to `activate`), which would otherwise look the current
        # context up three times.
        var = _CONTEXT_VAR if otel_context._RUNTIME_CONTEXT is _RUNTIME else None
        parent = otel_context.get_current() if var is None else var.get()
        self._context_token: object | None = None
        if rt.sampler_reads_attributes:
            # A custom sampler may decide on these; the SDK's built-in samplers never read them, and cleaning them
            # through the SDK costs more than the rest of the span.
            sampler_view: dict[str, AttributeValue] = {
                semconv.OPERATION_NAME: operation,
                semconv.PROVIDER_NAME: provider,
            }
            if model:
                sampler_view[semconv.REQUEST_MODEL] = model
            self.span = rt.tracer.start_span(name, parent, _CLIENT, sampler_view, start_time=start_ns)
        else:
            self.span = rt.start_span(name, parent, start_ns)
        attrs[semconv.REQUEST_STREAM] = stream
        attrs[semconv.API_SURFACE] = endpoint.surface
        host, port = server
        if host:
            attrs[semconv.SERVER_ADDRESS] = host
            if port:
                attrs[semconv.SERVER_PORT] = port
        for stage in rt.start_stages:
            stage(self, attrs)
        # The request attributes stay in `attrs` and reach the span with the outcome, in one update at the end:
        # nothing reads a span's attributes before it ends, and one update costs half of two.
        self.activate(parent, var)

    # --- while the HTTP request is in flight -------------------------------------------------------------------------
    def activate(self, parent: Context | None = None, var: ContextVar[Context] | None = None) -> None:
        """Make the span current so HTTP-client spans and SDK retries nest under it; `parent` is the context the span
        was started in, when the caller has it at hand (None: the current one), and `var` OpenTelemetry's context
        ContextVar when the caller found it usable (`set_span_in_context` + `attach`, written out over it)."""
        if var is not None and parent is not None:
            self._context_token = var.set(Context(parent, **{SPAN_KEY: self.span}))
        else:
            self._context_token = otel_context.attach(trace.set_span_in_context(self.span, parent))
        self._var_token = CURRENT_CALL.set(self)

    def deactivate(self) -> None:
        if self._var_token is not None:
            CURRENT_CALL.reset(self._var_token)
            self._var_token = None
        token = self._context_token
        if token is not None:
            self._context_token = None
            if type(token) is Token and token.var is _CONTEXT_VAR:
                try:
                    token.var.reset(token)
                except Exception:  # as `otel_context.detach` does: it fails the same way and logs it
                    otel_context.detach(token)
                return
            otel_context.detach(token)  # type: ignore[arg-type]

    def note_retry(self, status_code: int | None) -> None:
        self.retries += 1
        if status_code in _THROTTLE_STATUSES:
            self.throttled = True

    # --- the end -----------------------------------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return not self._end_token

    def end(
        self,
        *,
        error: ErrorInfo | None = None,
        exception: BaseException | None = None,
        stream_completed: bool | None = None,
        end_at: float | None = None,
    ) -> None:
        """End the span once; later calls (a close after exhaustion, a finalizer after close) do nothing.

        `end_at` is a perf_counter time; an abandoned stream ends at its last activity, not when the GC found it.
        """
        try:
            self._end_token.pop()
        except IndexError:
            return
        now = _perf_counter() if end_at is None else end_at
        duration = now - self.t0
        facts = self.facts
        attrs = self.request.attributes
        outcome_attributes(facts, stream_completed, attrs)
        if facts.first_chunk_at is not None:
            attrs[semconv.RESPONSE_TIME_TO_FIRST_CHUNK] = facts.first_chunk_at - self.t0
        if self.retries:
            attrs[semconv.RETRIES] = self.retries
        if self.throttled or (error is not None and error.status_code in _THROTTLE_STATUSES):
            attrs[semconv.THROTTLED] = True
        span = self.span
        rt = self.rt
        self.failed = error is not None
        self.error_type = error.error_type if error is not None else None
        if rt.end_stages:
            try:
                for stage in rt.end_stages:
                    stage(self, attrs)
            except Exception as exc:  # one stage failing must not lose the span
                report_internal_error("enrich_end", exc)
        if error is not None:
            attrs[semconv.ERROR_TYPE] = error.error_type
            attrs[semconv.ERROR_CATEGORY] = error.category
            if error.status_code is not None:
                attrs[semconv.HTTP_RESPONSE_STATUS_CODE] = error.status_code
        set_many(span, attrs, adopt=True)
        if error is not None:
            message = str(exception)[:300] if exception is not None else error.error_type
            span.set_status(Status(StatusCode.ERROR, f"{error.error_type}: {message}"))
            if exception is not None and error.category not in (semconv.ERROR_CANCELLED,):
                span.record_exception(exception, escaped=True)
        span.end(end_time=self.start_ns + int(duration * 1e9))
        metrics = rt.metrics
        if metrics is not None:
            ttfc = None
            tpoc = None
            first = facts.first_chunk_at
            if first is not None:
                ttfc = first - self.t0
                last = facts.last_chunk_at
                if facts.chunks > 1 and last is not None:
                    tpoc = (last - first) / (facts.chunks - 1)
            metrics.enqueue(
                (
                    self.endpoint.operation,
                    self.provider,
                    self.request.model,
                    facts.response_model,
                    self.server[0],
                    error.error_type if error is not None else None,
                    duration,
                    facts.input_tokens,
                    facts.output_tokens,
                    ttfc,
                    tpoc,
                )
            )
