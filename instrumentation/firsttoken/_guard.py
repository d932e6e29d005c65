"""Never break the host application.

Every hook firsttoken runs inside a customer's request path goes through `report_internal_error`: the fault is
logged once (a broken hook on a hot path must not flood the logs) and swallowed. "Once" is per fault origin — the
innermost frame that raised — so one broken function reached from several hooks still logs a single line. Tests set
`FIRSTTOKEN_STRICT=1` so the same faults raise there instead of hiding behind a passing test, the way logfire's
`handle_internal_errors` re-raises under pytest.
"""

from __future__ import annotations

import logging
import os
import threading

logger = logging.getLogger("firsttoken")

_reported: set[str] = set()
_reported_lock = threading.Lock()


def strict_mode() -> bool:
    """Whether internal faults re-raise (tests) instead of being logged and swallowed (production)."""
    return os.environ.get("FIRSTTOKEN_STRICT", "").lower() in ("1", "true", "yes")


class InternalError(Exception):
    """Raised in strict mode in place of a swallowed internal fault, so tests see it."""


def _origin(where: str, exc: BaseException) -> str:
    tb = exc.__traceback__
    if tb is None:
        return f"{where}:{type(exc).__name__}"
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{type(exc).__name__}@{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def report_internal_error(where: str, exc: BaseException) -> None:
    """Log an internal fault once per origin; in strict mode raise it so tests fail loudly.

    Never called with the application's own exceptions: callers wrap only firsttoken's code.
    """
    key = _origin(where, exc)
    with _reported_lock:
        first = key not in _reported
        _reported.add(key)
    if first:
        logger.warning(
            "firsttoken: internal error in %s (the application's call is unaffected; reported once)",
            where,
            exc_info=exc,
        )
    if strict_mode():
        raise InternalError(f"firsttoken internal error in {where}: {exc!r}") from exc


def reset_reported() -> None:
    """Forget which faults were logged (tests use this to check the log-once rule)."""
    with _reported_lock:
        _reported.clear()
