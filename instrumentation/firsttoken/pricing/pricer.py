"""`Pricer`: the cost of each LLM call, with prices resolved once per (provider, model, context) and cached.

`genai_prices.calc_price` takes ~126 us a call (model matching, price selection and Decimal arithmetic, every time),
three times the cost of the whole OpenTelemetry span. Prices change on dates, not per call, so `Pricer` resolves
them once, caches the result -- unknown models included, so a stream of calls on an unpriced model never reaches
genai-prices again -- and per call does only the integer arithmetic in arithmetic.py.

Thread-safe: the cache is read without a lock (a dict read is atomic) and written under one; a resolution happens
once per key even when many threads miss at the same time, and each warning is emitted once per process-lifetime
key. A warning goes to the `warn` callback (default: the `firsttoken.pricing` logger), never to `warnings.warn`,
which a host application may have turned into errors.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from firsttoken.pricing.arithmetic import Cost, Rates, compute
from firsttoken.pricing.catalog import Resolution, next_utc_midnight, resolve
from firsttoken.pricing.context import DEFAULT, PricingContext
from firsttoken.pricing.feed import PriceFeed, feed_fetcher
from firsttoken.pricing.overrides import PricingOverrides
from firsttoken.pricing.tokens import Tokens

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot

logger = logging.getLogger("firsttoken.pricing")

MAX_CACHED: Final = 10_000
"""Resolved keys kept before the cache is dropped and refilled (model names come from the application, so a
misbehaving one could otherwise grow it without bound)."""
MAX_WARNED: Final = 10_000

_UNPRICED: Final = Rates((0, 0, 0, 0, 0, 0, 0, 0, 0, 0), (), 1)
"""Cached stand-in for "no price known" (never used for arithmetic)."""


class Pricer:
    """Prices LLM calls from genai-prices data and optional overrides. Share one per process.

    Args:
        overrides: negotiated prices and multipliers (see `PricingOverrides`, docs/pricing.md).
        warn: receives each warning message once (unknown model, missing tier price, inconsistent usage, feed
            failure). Default: the `firsttoken.pricing` logger at WARNING.
        clock: epoch seconds; prices are resolved for the date it gives. For tests.
    """

    def __init__(
        self,
        overrides: PricingOverrides | None = None,
        *,
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._overrides = overrides
        self._warn = warn if warn is not None else logger.warning
        self._clock = clock if clock is not None else time.time
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str | None, PricingContext], Rates] = {}
        self._valid_until = 0.0  # the first call starts a period
        self._warned: set[tuple[str, ...]] = set()
        self._fed: DataSnapshot | None = None
        self._feed: PriceFeed | None = None

    def price(self, provider: str, model: str | None, tokens: Tokens, context: PricingContext = DEFAULT) -> Cost | None:
        """The cost of one call, or None when no price is known.

        Args:
            provider: the span's `gen_ai.provider.name` (`anthropic`, `openai`, `aws.bedrock`, `gcp.vertex_ai`,
                `azure.ai.openai`, `azure.ai.inference`, ...).
            model: the model id as called or as the response names it; dated ids resolve (`gpt-5-mini-2025-08-07`).
            tokens: the call's usage, input as the TOTAL (see `Tokens`).
            context: batch / service tier / region / speed; `DEFAULT` for an ordinary call (the fast path).

        Returns None, never a zero cost, when the model has no known price (warned once per provider and model),
        when input or output tokens are unknown, or when the counts are inconsistent (warned once per model).
        """
        rates = self.rates(provider, model, context)
        if rates is None:
            return None
        cost = compute(rates, tokens)
        if cost is None and tokens.input_tokens is not None and tokens.output_tokens is not None:
            self.warn_inconsistent(provider, model, tokens)
        return cost

    def rates(self, provider: str, model: str | None, context: PricingContext = DEFAULT) -> Rates | None:
        """The prices `price` applies (resolved once, cached), or None when no price is known; for callers that do
        the per-call arithmetic themselves with `arithmetic.compute_counts` (the span stage)."""
        if self._clock() >= self._valid_until:
            self._start_period()
        rates = self._cache.get((provider, model, context))
        if rates is None:
            rates = self._resolve(provider, model, context)
        return None if rates is _UNPRICED else rates

    def warn_inconsistent(self, provider: str, model: str | None, tokens: Tokens) -> None:
        """Warn (once per provider and model) that known usage could not be priced because its counts disagree."""
        self._warn_once(
            ("usage", provider, model or ""),
            f"inconsistent usage on {provider}/{model}: {tokens!r} (input_tokens must be the TOTAL input, cache "
            "reads and writes included; cache subsets cannot exceed it): cost unknown",
        )

    def refresh(self) -> None:
        """Forget every resolved price; the next call for each model resolves it again (new date, new data)."""
        with self._lock:
            self._cache = {}
            self._valid_until = 0.0

    def refresh_from_feed(
        self, *, interval_seconds: float = 3600.0, url: str | None = None, timeout_seconds: float = 10.0
    ) -> None:
        """Fetch genai-prices' published prices now and every `interval_seconds`, in a background thread.

        Returns at once. A fetched snapshot replaces the bundled data for this Pricer and drops its cache; a failed
        fetch is warned about (once per kind of error) and changes nothing. Calls are never blocked or failed by it.
        Does nothing if the feed is already running. `url` serves the same JSON as genai-prices' feed.
        """
        with self._lock:
            if self._feed is not None and self._feed.running:
                return
            self._feed = PriceFeed(
                feed_fetcher(url, timeout_seconds), self._use_snapshot, self._feed_failed, interval_seconds
            )
            self._feed.start()

    def close(self, timeout: float | None = 1.0) -> None:
        """Stop the feed thread, if any (waits up to `timeout` seconds for a fetch in flight)."""
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.stop(timeout)

    def preload(self) -> None:
        """Import genai-prices and load its data now (~0.3 s cold) rather than on the first priced call."""
        self._snapshot()

    def _start_period(self) -> None:
        with self._lock:
            now = self._clock()
            if now >= self._valid_until:
                self._cache = {}
                self._valid_until = next_utc_midnight(now)

    def _resolve(self, provider: str, model: str | None, context: PricingContext) -> Rates:
        key = (provider, model, context)
        with self._lock:
            rates = self._cache.get(key)
            if rates is not None:
                return rates
            now = self._clock()
            try:
                resolution = resolve(self._snapshot(), provider, model, context, self._overrides, now)
            except Exception as e:  # genai-prices data we cannot read is an unknown price, not a failed call
                message = f"pricing {provider}/{model} failed ({type(e).__name__}: {e}): cost unknown"
                resolution = Resolution(None, next_utc_midnight(now), ((("error", provider, model or ""), message),))
            rates = resolution.rates if resolution.rates is not None else _UNPRICED
            if len(self._cache) >= MAX_CACHED:
                self._cache = {}
            self._cache[key] = rates
            self._valid_until = min(self._valid_until, resolution.valid_until)
            pending = [message for dedupe, message in resolution.warnings if self._first(dedupe)]
        for message in pending:
            self._emit(message)
        return rates

    def _snapshot(self) -> DataSnapshot:
        if self._fed is not None:
            return self._fed
        from genai_prices import data_snapshot

        return data_snapshot.get_snapshot()

    def _use_snapshot(self, snapshot: DataSnapshot) -> None:
        self._fed = snapshot
        self.refresh()

    def _feed_failed(self, error: BaseException) -> None:
        self._warn_once(
            ("feed", type(error).__name__),
            f"price feed refresh failed ({type(error).__name__}: {error}): keeping the current prices",
        )

    def _warn_once(self, key: tuple[str, ...], message: str) -> None:
        with self._lock:
            first = self._first(key)
        if first:
            self._emit(message)

    def _first(self, key: tuple[str, ...]) -> bool:
        """Record `key`; True if it was new. Caller holds the lock."""
        if key in self._warned or len(self._warned) >= MAX_WARNED:
            return False
        self._warned.add(key)
        return True

    def _emit(self, message: str) -> None:
        try:
            self._warn(f"firsttoken pricing: {message}")
        except Exception:  # noqa: S110 - a broken warning callback must not fail the call being priced
            pass
