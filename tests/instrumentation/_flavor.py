"""Run one test body against a sync or an async client: call, iterate and enter the same way for both."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class Flavor:
    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async

    def __repr__(self) -> str:
        return "async" if self.is_async else "sync"

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    async def drain(self, stream: Any) -> list[Any]:
        if hasattr(stream, "__aiter__"):
            return [item async for item in stream]
        return list(stream)

    async def first(self, stream: Any) -> Any:
        if hasattr(stream, "__aiter__"):
            async for item in stream:
                return item
        for item in stream:
            return item
        return None

    @asynccontextmanager
    async def enter(self, manager: Any) -> AsyncIterator[Any]:
        if hasattr(manager, "__aenter__"):
            async with manager as value:
                yield value
        else:
            with manager as value:
                yield value

    async def close(self, obj: Any) -> None:
        result = obj.close()
        if inspect.isawaitable(result):
            await result
