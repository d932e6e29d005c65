"""The wrappers installed on the SDKs' `request()` methods, the retry hook, and the native-span switch.

Hooking the base client's `request()` (the way logfire does) sees every surface at once: `create`, `stream()`
managers (whose request happens at `__enter__`), `parse`, `count_tokens`, `beta.*`, the raw- and streaming-response
variants, and Bedrock/Vertex/Azure clients, which share it. The wrapper is the only code between the caller and
the SDK: each firsttoken step is guarded, and the SDK's result or exception passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firsttoken._guard import report_internal_error
from firsttoken.core.call import CURRENT_CALL, LLMCall
from firsttoken.core.plugin import ProviderPlugin
from firsttoken.core.runtime import Runtime

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]


def _begin_failed(exc: Exception) -> None:
    report_internal_error("request.begin", exc)


def _fail(rt: Runtime, call: LLMCall, exc: BaseException) -> None:
    try:
        call.deactivate()
        rt.fail(call, exc)
    except Exception as inner:
        report_internal_error("request.fail", inner)


def _observe_failed(call: LLMCall, exc: Exception, result: Any) -> Any:
    report_internal_error("request.observe", exc)
    try:
        call.end()
    except Exception as inner:
        report_internal_error("request.observe.end", inner)
    return result


# The wrappers below run on every SDK request: the begin and observe steps are written out in them (each guarded)
# rather than called through helpers, a frame less each.
def sync_request_wrapper(rt: Runtime, plugin: ProviderPlugin) -> Wrapper:
    def request(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            call = rt.begin(plugin, instance, args, kwargs)  # the call comes back active (its span current)
        except Exception as exc:
            _begin_failed(exc)
            call = None
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(rt, call, exc)
            raise
        try:
            call.deactivate()
            return rt.observe(call, result)
        except Exception as exc:
            return _observe_failed(call, exc, result)

    return request


def async_request_wrapper(rt: Runtime, plugin: ProviderPlugin) -> Wrapper:
    async def request(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            call = rt.begin(plugin, instance, args, kwargs)
        except Exception as exc:
            _begin_failed(exc)
            call = None
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(rt, call, exc)
            raise
        try:
            call.deactivate()
            return rt.observe(call, result)
        except Exception as exc:
            return _observe_failed(call, exc, result)

    return request


def retry_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Count the SDK's automatic retries (and whether any was a 429/529) on the call in flight."""
    try:
        call = CURRENT_CALL.get()
        if call is not None:
            response = kwargs.get("response")
            status = getattr(response, "status_code", None)
            call.note_retry(status if isinstance(status, int) else None)
    except Exception as exc:
        report_internal_error("request.retry", exc)
    return wrapped(*args, **kwargs)


def suppress_native_span(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """The Anthropic SDK (>= 2.x) traces each API call when its client has a tracer: while firsttoken's span covers
    the call, the client has none, so the SDK does no span work at all. Its other spans (the tool runner's) are
    made outside firsttoken's calls and keep the real tracer."""
    if CURRENT_CALL.get() is not None:
        return None
    return wrapped(*args, **kwargs)
