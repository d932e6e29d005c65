"""`.with_raw_response` and `.with_streaming_response`: observe the SDK's response wrapper without forcing it.

The caller decides when (and whether) the body is read and parsed; firsttoken never calls `.parse()` for them. When
the SDK already read the body (a non-streaming raw response), firsttoken decodes its own copy of the bytes and ends
the span at once. Otherwise the wrapper is proxied: the span ends when the caller parses or reads it (a parsed stream
is handed on to the stream proxy, so the span follows the stream), or when the response is closed or dropped.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import wrapt

from firsttoken._guard import report_internal_error
from firsttoken.core.stream_proxy import absent

if TYPE_CHECKING:
    from firsttoken.core.call import LLMCall


def typed_from_json(wrapper: Any, data: Any) -> Any:
    """Build the SDK's typed model from a decoded body, the way the SDK's lenient parser would (no validation)."""
    cast_to = getattr(wrapper, "_cast_to", None)
    construct = getattr(cast_to, "construct", None)
    if isinstance(data, dict) and construct is not None:
        return construct(**data)
    return data


def record_body(call: LLMCall, wrapper: Any, body: bytes) -> None:
    try:
        data = json.loads(body)
        call.endpoint.read_response(typed_from_json(wrapper, data), call.facts)
    except Exception as exc:
        report_internal_error("raw_response.decode", exc)
    call.end()


def try_read_body(wrapper: Any) -> bytes | None:
    """The body if the SDK already read it (non-streaming raw responses), else None; never triggers a read."""
    http_response = getattr(wrapper, "http_response", None)
    if http_response is None or getattr(wrapper, "_is_sse_stream", False):
        return None
    try:
        content = http_response.content
    except Exception:
        return None
    return content if isinstance(content, bytes) else None


class _ResponseLifecycle(wrapt.ObjectProxy[Any]):
    def __init__(self, wrapped: Any, call: LLMCall) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_stream: Any = None
        self._self_opened_at = time.perf_counter()

    def _self_observe_parsed(self, parsed: Any) -> Any:
        call = self._self_call
        try:
            proxy_cls = call.plugin.stream_proxy_class(parsed)
            if proxy_cls is not None:
                if self._self_stream is None or self._self_stream.__wrapped__ is not parsed:
                    recorder = call.endpoint.stream_recorder(call.facts)
                    self._self_stream = proxy_cls(parsed, call, recorder)
                return self._self_stream
            if not call.ended:
                call.endpoint.read_response(typed_from_json(self.__wrapped__, parsed), call.facts)
                call.end()
        except Exception as exc:
            report_internal_error("response.parse", exc)
        return parsed

    def _self_observe_bytes(self, body: Any) -> None:
        call = self._self_call
        if call.ended or getattr(self.__wrapped__, "_is_sse_stream", False):
            return
        try:
            if isinstance(body, str):
                body = body.encode()
            if isinstance(body, (bytes, bytearray)):
                record_body(call, self.__wrapped__, bytes(body))
            else:
                call.endpoint.read_response(typed_from_json(self.__wrapped__, body), call.facts)
                call.end()
        except Exception as exc:
            report_internal_error("response.read", exc)

    def _self_closed(self) -> None:
        try:
            call = self._self_call
            if not call.ended and self._self_stream is None:
                call.end(stream_completed=False if getattr(self.__wrapped__, "_is_sse_stream", False) else None)
        except Exception as exc:
            report_internal_error("response.close", exc)

    def __del__(self) -> None:
        try:
            call = self._self_call
            if not call.ended and self._self_stream is None:
                call.end(stream_completed=None, end_at=self._self_opened_at)
        except Exception:  # noqa: S110 - never raise from a finalizer
            pass


class SyncResponseProxy(_ResponseLifecycle):
    __aenter__ = absent("__aenter__")
    __aexit__ = absent("__aexit__")

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_observe_parsed(self.__wrapped__.parse(*args, **kwargs))

    def read(self) -> Any:
        body = self.__wrapped__.read()
        self._self_observe_bytes(body)
        return body

    def text(self) -> Any:
        body = self.__wrapped__.text()
        self._self_observe_bytes(body)
        return body

    def json(self, *args: Any, **kwargs: Any) -> Any:
        body = self.__wrapped__.json(*args, **kwargs)
        self._self_observe_bytes(body)
        return body

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_closed()


class AsyncResponseProxy(_ResponseLifecycle):
    __enter__ = absent("__enter__")
    __exit__ = absent("__exit__")
    __iter__ = absent("__iter__")

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_observe_parsed(await self.__wrapped__.parse(*args, **kwargs))

    async def read(self) -> Any:
        body = await self.__wrapped__.read()
        self._self_observe_bytes(body)
        return body

    async def text(self) -> Any:
        body = await self.__wrapped__.text()
        self._self_observe_bytes(body)
        return body

    async def json(self, *args: Any, **kwargs: Any) -> Any:
        body = await self.__wrapped__.json(*args, **kwargs)
        self._self_observe_bytes(body)
        return body

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_closed()
