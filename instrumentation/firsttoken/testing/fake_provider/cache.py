"""Prompt-cache simulation: which prefix tokens a request reads from or writes to the cache.

Both providers cache prompt *prefixes*. Anthropic caches up to explicit
`cache_control` breakpoints (each with a 5 minute or 1 hour TTL); OpenAI caches
automatically. Both reduce to the same model here: a request presents an ordered
list of breakpoints (prefix hash, cumulative tokens, TTL); the longest live one is
a cache read, everything after it up to the last breakpoint is a cache write, and
every breakpoint is (re)stored with its TTL, as a read refreshes a real cache entry.

The clock is injectable so tests can step past a TTL without sleeping.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from firsttoken.testing.fake_provider.tokens import Segment

TTL_SECONDS: Mapping[str, float] = {"5m": 300.0, "1h": 3600.0, "10m": 600.0}
"""Anthropic's two breakpoint TTLs, and OpenAI's automatic-cache lifetime ("10m")."""


@dataclass(frozen=True)
class Breakpoint:
    """A cacheable prefix: its identity, size (cumulative tokens) and lifetime."""

    key: str
    tokens: int
    ttl: str


@dataclass(frozen=True)
class CacheUsage:
    """Outcome of one lookup: tokens read, and tokens written per TTL label."""

    read_tokens: int = 0
    written: Mapping[str, int] = field(default_factory=dict)

    @property
    def written_tokens(self) -> int:
        """All tokens written, whatever their TTL."""
        return sum(self.written.values())

    def written_for(self, ttl: str) -> int:
        """Tokens written with this TTL label (0 if none)."""
        return self.written.get(ttl, 0)


NO_CACHE = CacheUsage()


def breakpoints(
    namespace: str, segments: Iterable[Segment], *, min_tokens: int, trailing_ttl: str | None = None
) -> list[Breakpoint]:
    """Breakpoints of a prompt: one after every segment that carries a cache TTL.

    `namespace` separates caches (provider and model: a prefix cached for one model
    is a miss on another). `trailing_ttl` adds a breakpoint after the last segment,
    which is how a top-level Anthropic `cache_control` or OpenAI's automatic cache
    behave. Prefixes shorter than `min_tokens` are not cacheable, as on the real APIs.
    """
    digest = hashlib.sha256(namespace.encode("utf-8"))
    result: list[Breakpoint] = []
    cumulative = 0
    items = list(segments)
    for index, segment in enumerate(items):
        digest.update(b"\x1e" + segment.content.encode("utf-8"))
        cumulative += segment.tokens
        ttl = segment.cache_ttl
        if ttl is None and trailing_ttl is not None and index == len(items) - 1:
            ttl = trailing_ttl
        if ttl is not None and cumulative >= max(min_tokens, 1):
            result.append(Breakpoint(digest.hexdigest(), cumulative, ttl))
    return result


class PromptCache:
    """Thread-safe map from prefix key to expiry time, on an injectable monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expires: dict[str, float] = {}

    def lookup(self, points: list[Breakpoint]) -> CacheUsage:
        """Read the longest live prefix, write the rest, refresh every breakpoint."""
        if not points:
            return NO_CACHE
        with self._lock:
            now = self._clock()
            read = 0
            for point in points:
                if self._expires.get(point.key, float("-inf")) > now:
                    read = max(read, point.tokens)
            for point in points:
                self._expires[point.key] = max(self._expires.get(point.key, now), now + TTL_SECONDS[point.ttl])
            self._evict(now)
        written: dict[str, int] = {}
        covered = read
        # Tokens between the read prefix and each later breakpoint are written with that
        # breakpoint's TTL (Anthropic requires longer TTLs to come first).
        for point in points:
            if point.tokens > covered:
                written[point.ttl] = written.get(point.ttl, 0) + point.tokens - covered
                covered = point.tokens
        return CacheUsage(read_tokens=read, written=written)

    def reset(self) -> None:
        """Forget every cached prefix."""
        with self._lock:
            self._expires.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._expires)

    def _evict(self, now: float) -> None:
        # Keeps a long-running server's memory bounded; called with the lock held.
        if len(self._expires) > 4096:
            for key in [key for key, expiry in self._expires.items() if expiry <= now]:
                del self._expires[key]
