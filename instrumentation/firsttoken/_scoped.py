"""One decorator shape for everything that wraps a call in a scope (tasks, tools), sync or async."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Scope(Protocol):
    def close(self, exc: BaseException | None) -> None: ...


def wrap_in_scope(fn: F, open_scope: Callable[[], Scope]) -> F:
    """`fn` run inside a fresh scope per invocation, closed with the exception if it raised."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            scope = open_scope()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                scope.close(exc)
                raise
            scope.close(None)
            return result

        return run_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        scope = open_scope()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            scope.close(exc)
            raise
        scope.close(None)
        return result

    return run  # type: ignore[return-value]
