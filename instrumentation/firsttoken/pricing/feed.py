"""Optional background refresh of genai-prices' data from its published feed.

genai-prices' `UpdatePrices` fetches the feed on a shared thread and swaps the process-wide snapshot; its fetch
failures surface only to callers that wait on it. firsttoken needs two things it does not give: to know when a new
snapshot arrived (to drop its resolved-price cache), and to never raise or block on an LLM call's path. So the
feed runs on firsttoken's own daemon thread, reuses `UpdatePrices.fetch()` (the HTTP request and the data parsing),
and hands each snapshot to the Pricer that started it, leaving genai-prices' global snapshot untouched.
A failed fetch is reported through `on_error` and the current prices stay in use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genai_prices.data_snapshot import DataSnapshot

Fetch = Callable[[], "DataSnapshot | None"]


def feed_fetcher(url: str | None = None, timeout_seconds: float = 10.0) -> Fetch:
    """genai-prices' own fetch of its published data (or of `url`, the same JSON format)."""
    import httpx2
    from genai_prices import UpdatePrices

    timeout = httpx2.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds))
    updater = UpdatePrices(request_timeout=timeout) if url is None else UpdatePrices(url=url, request_timeout=timeout)
    return updater.fetch


class PriceFeed:
    """Calls `fetch` now and every `interval_seconds` on a daemon thread until `stop()`."""

    def __init__(
        self,
        fetch: Fetch,
        on_snapshot: Callable[[DataSnapshot], None],
        on_error: Callable[[BaseException], None],
        interval_seconds: float,
    ) -> None:
        if not interval_seconds > 0:
            raise ValueError(f"interval_seconds must be positive, got {interval_seconds!r}")
        self._fetch = fetch
        self._on_snapshot = on_snapshot
        self._on_error = on_error
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="firsttoken-price-feed", daemon=True)
        self.fetches = 0
        """Completed fetch attempts, successful or not (tests and diagnostics)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 1.0) -> None:
        """Ask the thread to exit; waits up to `timeout` seconds for a fetch in flight (never forever by default)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                snapshot = self._fetch()
                if snapshot is not None and not self._stop.is_set():
                    self._on_snapshot(snapshot)
            except Exception as e:  # a feed failure must never escape: the bundled prices stay in use
                try:
                    self._on_error(e)
                except Exception:  # noqa: S110 - the error reporter itself failing leaves nothing to report to
                    pass
            self.fetches += 1
            self._stop.wait(self._interval)
