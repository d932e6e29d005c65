"""Never break the host application.

Every hook firsttoken runs inside a customer's request path goes through `report_internal_error`: the fault is
logged once per call site (a broken hook on a hot path must not flood the logs) and swallowed. Tests set
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


def report_internal_error(where: str, exc: BaseException) -> None:
    """Log an internal fault once per `where`; in strict mode raise it so tests fail loudly.

    Never called with the application's own exceptions: callers wrap only firsttoken's code.
    """
    with _reported_lock:
        first = where not in _reported
        _reported.add(where)
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
