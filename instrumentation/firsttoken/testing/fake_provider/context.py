"""What a wire handler receives (`RequestContext`) and returns (`WireResult`).

Wire modules are pure functions from a parsed request to a payload or a list of
stream events; everything stateful (random generator, prompt cache, clock) comes
in through the context, so the modules never share state with each other.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from firsttoken.testing.fake_provider.cache import NO_CACHE, CacheUsage, PromptCache, breakpoints
from firsttoken.testing.fake_provider.config import FakeProviderConfig
from firsttoken.testing.fake_provider.controls import Controls
from firsttoken.testing.fake_provider.errors import ApiError
from firsttoken.testing.fake_provider.ids import IdFactory
from firsttoken.testing.fake_provider.sse import StreamEvent
from firsttoken.testing.fake_provider.tokens import Segment

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class RequestContext:
    """One parsed request plus the provider state a handler may use."""

    body: JsonObject
    controls: Controls
    rng: random.Random
    ids: IdFactory
    cache: PromptCache
    config: FakeProviderConfig
    wall_clock: Callable[[], float] = time.time

    @property
    def stream(self) -> bool:
        """Whether the client asked for an SSE stream."""
        return self.body.get("stream") is True

    def require(self, key: str, kind: type | tuple[type, ...]) -> Any:
        """A required body field of the given JSON type, else the 400 the real API would send."""
        value = self.body.get(key)
        if value is None:
            raise ApiError(400, f"{key}: Field required", param=key)
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise ApiError(400, f"{key}: Input should be of type {_type_names(kind)}", param=key)
        return value

    def optional(self, key: str, kind: type | tuple[type, ...]) -> Any:
        """An optional body field: `None` when absent, a 400 when of the wrong type."""
        if self.body.get(key) is None:
            return None
        return self.require(key, kind)

    def response_model(self) -> str:
        """The model to report: `x-fake-response-model` if given, else the request's model."""
        model: str = self.require("model", str)
        return self.controls.response_model or model

    def created(self) -> int:
        """Unix timestamp for `created` / `created_at` fields."""
        return int(self.wall_clock())

    def prompt_cache(self, namespace: str, segments: list[Segment], trailing_ttl: str | None = None) -> CacheUsage:
        """Look up (and record) the cacheable prefixes of `segments`, unless caching is off."""
        if not self.controls.cache:
            return NO_CACHE
        points = breakpoints(namespace, segments, min_tokens=self.controls.cache_min_tokens, trailing_ttl=trailing_ttl)
        return self.cache.lookup(points)


@dataclass(frozen=True)
class WireResult:
    """A handler's answer: a JSON payload, or the events of a stream.

    `generated_tokens` sizes the simulated generation time of a non-streamed answer.
    """

    payload: Any = None
    events: tuple[StreamEvent, ...] | None = None
    generated_tokens: int = 0


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _type_names(kind: type | tuple[type, ...]) -> str:
    names = {str: "string", int: "integer", float: "number", list: "array", dict: "object", bool: "boolean"}
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))
