"""Classify a failed call for dashboards: `error.type` is the SDK's exception class, the category is what on-call
reads (throttled, overloaded, timed out, connection lost, stream cut, server or client error)."""

from __future__ import annotations

import asyncio
from typing import Any

from firsttoken import semconv
from firsttoken.core.contract import ErrorInfo

_BODY_ERROR_TYPES = {
    "rate_limit_error": semconv.ERROR_RATE_LIMIT,
    "overloaded_error": semconv.ERROR_OVERLOADED,
    "api_error": semconv.ERROR_SERVER,
    "timeout_error": semconv.ERROR_TIMEOUT,
}


def _body_error_type(exc: BaseException) -> str | None:
    body: Any = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            kind = inner.get("type")
            return kind if isinstance(kind, str) else None
    return None


def classify_error(exc: BaseException, *, in_stream: bool = False) -> ErrorInfo:
    error_type = type(exc).__qualname__
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)):
        return ErrorInfo(error_type, semconv.ERROR_CANCELLED)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    body_kind = _body_error_type(exc)
    if body_kind in _BODY_ERROR_TYPES and (status is None or status < 400):
        # An error event inside a 200 stream (Anthropic sends `overloaded_error` that way).
        return ErrorInfo(error_type, _BODY_ERROR_TYPES[body_kind], status)
    if status is not None and status >= 400:
        if status == 429:
            category = semconv.ERROR_RATE_LIMIT
        elif status in (529, 503):
            category = semconv.ERROR_OVERLOADED
        elif status == 408:
            category = semconv.ERROR_TIMEOUT
        elif status >= 500:
            category = semconv.ERROR_SERVER
        else:
            category = semconv.ERROR_CLIENT
        return ErrorInfo(error_type, category, status)
    name = error_type.lower()
    if "timeout" in name:
        return ErrorInfo(error_type, semconv.ERROR_TIMEOUT)
    if in_stream:
        return ErrorInfo(error_type, semconv.ERROR_STREAM_INTERRUPTED)
    if "connection" in name or isinstance(exc, OSError):
        return ErrorInfo(error_type, semconv.ERROR_CONNECTION)
    return ErrorInfo(error_type, semconv.ERROR_OTHER)
