"""Tool outcomes: did the tool the model asked for actually work? Each outcome is recorded once, as an
`execute_tool {name}` span (gen_ai.tool.name, gen_ai.tool.call.id, `firsttoken.tool.success`), from one of:

- `firsttoken.tool(name)`: a decorator or context manager around the code that runs the tool (sync or async);
  an exception, or `t.fail(reason)`, makes it a failure. Timed, it is the tool's real execution.
- inference from the next Anthropic request: a `tool_result` block in its last message (`is_error` marks a
  failure), matched by `tool_use_id` to the `tool_use` the model sent, which names the tool. This also covers the
  Anthropic SDK's tool runner, whose results reach the API that way. Only the request's last message is read, so
  a history that is sent again is not counted again; ids recorded explicitly are not inferred a second time.
  OpenAI tool messages carry no error flag: use `firsttoken.tool` there.

Outcomes count toward the enclosing task's `firsttoken.task.tool_calls` / `tool_failures`.
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from firsttoken import semconv
from firsttoken._scoped import wrap_in_scope
from firsttoken.tasks import CURRENT_TASK, _tracer

F = TypeVar("F", bound=Callable[..., Any])

TOOL_SUCCESS = "firsttoken.tool.success"
TOOL_SOURCE = "firsttoken.tool.source"
TOOL_FAILURE_REASON = "firsttoken.tool.failure_reason"


class _SeenCalls:
    """Tool-call ids already recorded (bounded), so an outcome is never counted twice."""

    def __init__(self, limit: int = 16_384) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def first_time(self, call_id: str) -> bool:
        with self._lock:
            if call_id in self._ids:
                return False
            self._ids[call_id] = None
            if len(self._ids) > self._limit:
                self._ids.popitem(last=False)
            return True


SEEN = _SeenCalls()


def _finish(span: Span, success: bool, reason: str | None, error_type: str | None) -> None:
    span.set_attribute(TOOL_SUCCESS, success)
    if not success:
        span.set_status(Status(StatusCode.ERROR, reason or "failed"))
        if reason:
            span.set_attribute(TOOL_FAILURE_REASON, reason[:200])
        if error_type:
            span.set_attribute(semconv.ERROR_TYPE, error_type)
    span.end()
    current = CURRENT_TASK.get()
    if current is not None:
        current.tool_finished(success)


def _start(name: str, call_id: str | None, source: str) -> Span:
    attrs: dict[str, AttributeValue] = {
        semconv.OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
        semconv.TOOL_NAME: name,
        TOOL_SOURCE: source,
    }
    if call_id:
        attrs[semconv.TOOL_CALL_ID] = call_id
    current = CURRENT_TASK.get()
    if current is not None:
        attrs[semconv.TASK_ID] = current.id
        attrs[semconv.TASK_NAME] = current.name
    return _tracer().start_span(f"execute_tool {name}", kind=SpanKind.INTERNAL, attributes=attrs)


class ToolRun:
    """An open tool execution; `fail()` records a failure that raised no exception (e.g. an error result)."""

    def __init__(self, name: str, call_id: str | None) -> None:
        self.name = name
        self.call_id = call_id
        self.failure: str | None = None
        if call_id:
            SEEN.first_time(call_id)
        self.span = _start(name, call_id, "explicit")
        self._token = otel_context.attach(trace.set_span_in_context(self.span))

    def fail(self, reason: str = "failed") -> None:
        self.failure = reason

    def close(self, exc: BaseException | None) -> None:
        otel_context.detach(self._token)
        if exc is not None:
            _finish(self.span, False, self.failure or str(exc)[:200], type(exc).__qualname__)
        else:
            _finish(self.span, self.failure is None, self.failure, None)


class tool:
    """Record a tool's execution and outcome; as a context manager it yields a `ToolRun`."""

    def __init__(self, name: str, *, call_id: str | None = None) -> None:
        self.name = name
        self.call_id = call_id
        self._run: contextvars.ContextVar[ToolRun | None] = contextvars.ContextVar(
            f"firsttoken_tool_{name}", default=None
        )

    def __enter__(self) -> ToolRun:
        run = ToolRun(self.name, self.call_id)
        self._run.set(run)
        return run

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        run = self._run.get()
        if run is not None:
            run.close(exc)

    async def __aenter__(self) -> ToolRun:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: F) -> F:
        name, call_id = self.name, self.call_id
        return wrap_in_scope(fn, lambda: ToolRun(name, call_id))


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def _seq(value: Any) -> Sequence[Any]:
    return value if isinstance(value, (list, tuple)) else ()


def inferred_outcomes(messages: Any) -> list[tuple[str, str, bool]]:
    """(tool name, tool_use_id, success) for the tool results in an Anthropic request's last message."""
    history = _seq(messages)
    if len(history) < 2:
        return []
    results = [b for b in _seq(_get(history[-1], "content")) if _get(b, "type") == "tool_result"]
    if not results:
        return []
    names = {
        _get(b, "id"): _get(b, "name")
        for b in _seq(_get(history[-2], "content"))
        if _get(b, "type") in ("tool_use", "server_tool_use")
    }
    out = []
    for block in results:
        call_id = _get(block, "tool_use_id")
        if isinstance(call_id, str):
            name = names.get(call_id)
            out.append((name if isinstance(name, str) else "unknown", call_id, not _get(block, "is_error")))
    return out


def inference_stage() -> Callable[..., None]:
    """LLM-call start stage: record the outcomes an Anthropic request reports for the previous turn's tool calls."""

    def on_start(call: Any, attrs: dict[str, AttributeValue]) -> None:
        if call.plugin.name != "anthropic" or call.endpoint.operation != semconv.OP_CHAT:
            return
        body = call.request.messages
        if body is None or (type(body) is list and len(body) < 2):  # `inferred_outcomes`' first answer, inline
            return
        for name, call_id, success in inferred_outcomes(body):
            if SEEN.first_time(call_id):
                _finish(_start(name, call_id, "inferred"), success, None if success else "is_error", None)

    return on_start
