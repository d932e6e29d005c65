"""Transparent stream wrappers: the SDK's own stream object, observed.

A `wrapt.ObjectProxy` keeps the stream's type (`isinstance(s, anthropic.Stream)` holds), its attributes and helper
methods, and its context-manager protocol; the SDK's higher-level helpers (`MessageStream`, `ChatCompletionStream`,
`ResponseStream`) iterate it unchanged. The call's span ends exactly once, on whichever comes first:
- exhaustion (`firsttoken.stream.completed=true`),
- an error while reading (status ERROR, `error.type`),
- `close()` / `aclose()` / leaving a `with` block, or an early `break` (the iterator is closed: completed=false),
- garbage collection of a stream nobody finished (completed=false, ended at its last activity, not at GC time).
Per chunk the proxy does one provider recorder call; nothing is allocated per chunk and nothing grows with length.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import wrapt

from firsttoken._guard import report_internal_error
from firsttoken.core.contract import StreamRecorder
from firsttoken.core.errors import classify_error

if TYPE_CHECKING:
    from firsttoken.core.call import LLMCall


def _noop(_event: Any) -> None:
    return None


def absent(name: str) -> Any:
    """Hide a protocol method that `wrapt.ObjectProxy` defines but the wrapped object lacks.

    `ObjectProxy` forwards `__enter__`/`__aenter__`/`__iter__` unconditionally, so `hasattr(sync_stream,
    "__aenter__")` would be True on a proxy and False on the SDK's stream; code that picks sync or async handling
    that way must see the same answer either way.
    """

    def get(self: Any) -> Any:
        raise AttributeError(name)

    return property(get)


class _StreamLifecycle(wrapt.ObjectProxy[Any]):
    """State and endings shared by the sync and async proxies."""

    def __init__(self, wrapped: Any, call: LLMCall, recorder: StreamRecorder) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_recorder = recorder
        self._self_opened_at = time.perf_counter()

    def _self_record(self, event: Any) -> None:
        try:
            self._self_recorder(event)
        except Exception as exc:
            self._self_recorder_failed(exc)

    def _self_recorder_failed(self, exc: Exception) -> StreamRecorder:
        # A recorder fault stops recording for this stream; the caller's events flow on untouched.
        self._self_recorder = _noop
        report_internal_error("stream.record", exc)
        return _noop

    def _self_finish(self, completed: bool) -> None:
        try:
            self._self_call.end(stream_completed=completed)
        except Exception as exc:
            report_internal_error("stream.end", exc)

    def _self_fail(self, exc: BaseException) -> None:
        try:
            self._self_call.end(error=classify_error(exc, in_stream=True), exception=exc, stream_completed=False)
        except Exception as inner:
            report_internal_error("stream.fail", inner)

    def __del__(self) -> None:
        try:
            call = self._self_call
        except Exception:
            return
        try:
            if not call.ended:
                last = call.facts.last_chunk_at
                call.end(stream_completed=False, end_at=last if last is not None else self._self_opened_at)
        except Exception as exc:
            try:
                report_internal_error("stream.finalize", exc)
            except Exception:  # noqa: S110 - never raise from a finalizer, not even in strict mode
                pass

    def __reduce_ex__(self, protocol: Any) -> Any:  # pragma: no cover - streams are not picklable anyway
        return self.__wrapped__.__reduce_ex__(protocol)


class SyncStreamProxy(_StreamLifecycle):
    __aenter__ = absent("__aenter__")
    __aexit__ = absent("__aexit__")

    def __iter__(self) -> Iterator[Any]:
        record = self._self_recorder  # a local: the per-chunk path is one call
        try:
            for item in self.__wrapped__:
                try:
                    record(item)
                except Exception as exc:
                    record = self._self_recorder_failed(exc)
                yield item
        except GeneratorExit:
            self._self_finish(False)
            raise
        except BaseException as exc:
            self._self_fail(exc)
            raise
        self._self_finish(True)

    def __next__(self) -> Any:
        try:
            item = self.__wrapped__.__next__()
        except StopIteration:
            self._self_finish(True)
            raise
        except BaseException as exc:
            self._self_fail(exc)
            raise
        self._self_record(item)
        return item

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_finish(False)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_finish(False)


class AsyncStreamProxy(_StreamLifecycle):
    __enter__ = absent("__enter__")
    __exit__ = absent("__exit__")
    __iter__ = absent("__iter__")

    async def __aiter__(self) -> AsyncIterator[Any]:
        record = self._self_recorder  # a local: the per-chunk path is one call
        try:
            async for item in self.__wrapped__:
                try:
                    record(item)
                except Exception as exc:
                    record = self._self_recorder_failed(exc)
                yield item
        except GeneratorExit:
            self._self_finish(False)
            raise
        except BaseException as exc:
            self._self_fail(exc)
            raise
        self._self_finish(True)

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_finish(True)
            raise
        except BaseException as exc:
            self._self_fail(exc)
            raise
        self._self_record(item)
        return item

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_finish(False)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_finish(False)
