"""Tasks: the unit of work a team reviews ("answer this ticket", "plan this trip"), with completion and total cost.

`firsttoken.task(name)` opens an `invoke_workflow {name}` span, makes it current, and stamps `firsttoken.task.id` /
`.name` on every LLM and tool span inside, across asyncio tasks and `gather` (ContextVars follow them) and across
threads when the callable is wrapped with `firsttoken.in_context` (threads start with an empty context otherwise).
When it ends, the task span carries its status and the rolled-up LLM-call count, tokens, tool executions and
failures, and cost, including every nested sub-task's (a planner fanning out to workers keeps parent links through
the span tree and `firsttoken.task.parent_id`).

A call that is still streaming when its task ends still gets the task id; its numbers land in no total (the span
has ended) and the task span says how many calls were in flight then (`firsttoken.task.llm_calls_in_flight`).
"""

from __future__ import annotations

import contextvars
import functools
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from firsttoken import semconv
from firsttoken._scoped import wrap_in_scope

F = TypeVar("F", bound=Callable[..., Any])

TASK_PARENT_ID = "firsttoken.task.parent_id"
TASK_STATUS = "firsttoken.task.status"
TASK_FAILURE_REASON = "firsttoken.task.failure_reason"
TASK_LLM_CALLS = "firsttoken.task.llm_calls"
TASK_LLM_CALLS_IN_FLIGHT = "firsttoken.task.llm_calls_in_flight"
TASK_UNPRICED_CALLS = "firsttoken.task.unpriced_calls"
TASK_COST_USD = "firsttoken.task.cost.usd"
TASK_COST_PRICED = "firsttoken.task.cost.priced"
TASK_INPUT_TOKENS = "firsttoken.task.usage.input_tokens"
TASK_OUTPUT_TOKENS = "firsttoken.task.usage.output_tokens"
TASK_TOOL_CALLS = "firsttoken.task.tool_calls"
TASK_TOOL_FAILURES = "firsttoken.task.tool_failures"


class Task:
    """A running task: its identity and totals. Totals are updated from any thread, so under a lock."""

    def __init__(self, name: str, parent: Task | None, span: Span) -> None:
        self.id = uuid.uuid4().hex
        self.name = name
        self.parent = parent
        self.span = span
        self.status: str | None = None
        self.failure_reason: str | None = None
        self.ended = False
        self._lock = threading.Lock()
        self.llm_calls = 0
        self.in_flight = 0
        self.unpriced_calls = 0
        self.cost_usd = 0.0
        self.input_tokens = 0
        self.output_tokens = 0
        self.tool_calls = 0
        self.tool_failures = 0

    # --- the caller's controls ----------------------------------------------------------------------------------
    def complete(self) -> None:
        """Mark the task completed (the default when the block exits without an exception)."""
        self.status = "completed"
        self.failure_reason = None

    def fail(self, reason: str | BaseException = "") -> None:
        """Mark the task failed, e.g. when the answer was unusable although no exception was raised."""
        self.status = "failed"
        self.failure_reason = (type(reason).__qualname__ if isinstance(reason, BaseException) else str(reason))[:200]

    # --- what happened inside -----------------------------------------------------------------------------------
    def call_started(self) -> None:
        with self._lock:
            self.in_flight += 1

    def call_ended(self, cost_usd: float | None, input_tokens: int | None, output_tokens: int | None) -> None:
        with self._lock:
            self.in_flight -= 1
            self.llm_calls += 1
            if cost_usd is None:
                self.unpriced_calls += 1
            else:
                self.cost_usd += cost_usd
            self.input_tokens += input_tokens or 0
            self.output_tokens += output_tokens or 0

    def tool_finished(self, success: bool) -> None:
        with self._lock:
            self.tool_calls += 1
            if not success:
                self.tool_failures += 1

    def _absorb(self, child: Task) -> None:
        with self._lock, child._lock:
            self.llm_calls += child.llm_calls
            self.unpriced_calls += child.unpriced_calls
            self.cost_usd += child.cost_usd
            self.input_tokens += child.input_tokens
            self.output_tokens += child.output_tokens
            self.tool_calls += child.tool_calls
            self.tool_failures += child.tool_failures

    def _totals(self) -> dict[str, AttributeValue]:
        with self._lock:
            attrs: dict[str, AttributeValue] = {
                TASK_STATUS: self.status or "completed",
                TASK_LLM_CALLS: self.llm_calls,
                TASK_INPUT_TOKENS: self.input_tokens,
                TASK_OUTPUT_TOKENS: self.output_tokens,
                TASK_TOOL_CALLS: self.tool_calls,
                TASK_TOOL_FAILURES: self.tool_failures,
                TASK_COST_PRICED: self.unpriced_calls == 0,
            }
            if self.llm_calls and self.llm_calls > self.unpriced_calls:
                attrs[TASK_COST_USD] = self.cost_usd
            if self.unpriced_calls:
                attrs[TASK_UNPRICED_CALLS] = self.unpriced_calls
            if self.in_flight:
                attrs[TASK_LLM_CALLS_IN_FLIGHT] = self.in_flight
            if self.failure_reason:
                attrs[TASK_FAILURE_REASON] = self.failure_reason
        return attrs


CURRENT_TASK: contextvars.ContextVar[Task | None] = contextvars.ContextVar("firsttoken_task", default=None)


def current_task() -> Task | None:
    """The innermost task of the calling context, if any."""
    return CURRENT_TASK.get()


def _tracer() -> trace.Tracer:
    from firsttoken._instrument import current_runtime

    runtime = current_runtime()
    return runtime.tracer if runtime is not None else trace.get_tracer("firsttoken")


class _Scope:
    """One execution of a task: opened on enter, closed on exit."""

    def __init__(self, name: str, agent: str | None, attrs: dict[str, AttributeValue]) -> None:
        parent = CURRENT_TASK.get()
        span_attrs: dict[str, AttributeValue] = {
            semconv.OPERATION_NAME: semconv.OP_INVOKE_WORKFLOW,
            semconv.TASK_NAME: name,
            **attrs,
        }
        if agent:
            span_attrs[semconv.AGENT_NAME] = agent
        span = _tracer().start_span(f"invoke_workflow {name}", kind=SpanKind.INTERNAL, attributes=span_attrs)
        self.task = Task(name, parent, span)
        span.set_attribute(semconv.TASK_ID, self.task.id)
        if parent is not None:
            span.set_attribute(TASK_PARENT_ID, parent.id)
        self._context_token = otel_context.attach(trace.set_span_in_context(span))
        self._task_token = CURRENT_TASK.set(self.task)

    def close(self, exc: BaseException | None) -> None:
        task = self.task
        CURRENT_TASK.reset(self._task_token)
        otel_context.detach(self._context_token)
        if exc is not None and task.status is None:
            task.fail(exc)
        attrs = task._totals()
        span = task.span
        span.set_attributes(attrs)
        if task.status == "failed":
            span.set_status(Status(StatusCode.ERROR, task.failure_reason or "failed"))
            if exc is not None:
                span.set_attribute(semconv.ERROR_TYPE, type(exc).__qualname__)
        task.ended = True
        span.end()
        if task.parent is not None:
            task.parent._absorb(task)


class task:
    """A task, as a context manager (`with` / `async with`, yielding the `Task`) or a decorator (sync or async)."""

    def __init__(self, name: str, *, agent: str | None = None, **attributes: AttributeValue) -> None:
        self.name = name
        self.agent = agent
        self.attributes = dict(attributes)
        # The open scope per context: one `task` object may be entered by several asyncio tasks or threads at once.
        self._scope: contextvars.ContextVar[tuple[_Scope, contextvars.Token[Any]] | None] = contextvars.ContextVar(
            f"firsttoken_task_scope_{name}", default=None
        )

    def _open(self) -> Task:
        scope = _Scope(self.name, self.agent, self.attributes)
        outer = self._scope.set(None)
        self._scope.set((scope, outer))
        return scope.task

    def _close(self, exc: BaseException | None) -> None:
        entry = self._scope.get()
        if entry is None:  # pragma: no cover - exit without enter
            return
        scope, outer = entry
        self._scope.reset(outer)
        scope.close(exc)

    def __enter__(self) -> Task:
        return self._open()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._close(exc)

    async def __aenter__(self) -> Task:
        return self._open()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._close(exc)

    def __call__(self, fn: F) -> F:
        name, agent, attrs = self.name, self.agent, self.attributes
        return wrap_in_scope(fn, lambda: _Scope(name, agent, attrs))


def in_context(fn: F) -> F:
    """`fn`, bound to the caller's context: the current task, tags and span follow it into a thread.

    `pool.submit(firsttoken.in_context(work), item)` or `threading.Thread(target=firsttoken.in_context(work))`.
    Each invocation runs in its own copy of the captured context, so one wrapped function can run in many threads
    at once.
    """
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return captured.copy().run(fn, *args, **kwargs)

    return run  # type: ignore[return-value]


def task_stages() -> tuple[Callable[..., None], Callable[..., None]]:
    """The LLM-call stages: stamp the task and tags at the start, roll the call into its task at the end."""
    from firsttoken.context_tags import TAGS

    def on_start(call: Any, attrs: dict[str, AttributeValue]) -> None:
        tags = TAGS.get()
        if tags:
            attrs.update(tags)
        current = CURRENT_TASK.get()
        call.task = current
        if current is not None:
            attrs[semconv.TASK_ID] = current.id
            attrs[semconv.TASK_NAME] = current.name
            current.call_started()

    def on_end(call: Any, attrs: dict[str, AttributeValue]) -> None:
        current = call.task
        if current is None:
            return
        cost = attrs.get(semconv.COST_USD)
        current.call_ended(cost if isinstance(cost, float) else None, call.facts.input_tokens, call.facts.output_tokens)

    return on_start, on_end
