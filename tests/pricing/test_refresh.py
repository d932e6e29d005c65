"""Caching, effective dates, refresh(), and the optional price feed (which must never block or fail a call)."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import firsttoken.pricing.pricer as pricer_module
from firsttoken.pricing import Pricer, PricingContext, Tokens
from firsttoken.pricing.catalog import Resolution, resolve

from .conftest import NOW

MILLION_IN = Tokens(input_tokens=1_000_000, output_tokens=0)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """Every call into the slow path (genai-prices lookup and price selection), recorded."""
    calls: list[tuple[str, str | None]] = []

    def counting(snapshot: Any, provider: str, model: str | None, *args: Any) -> Resolution:
        calls.append((provider, model))
        return resolve(snapshot, provider, model, *args)

    monkeypatch.setattr(pricer_module, "resolve", counting)
    return calls


def input_price(pricer: Pricer, provider: str, model: str) -> float:
    cost = pricer.price(provider, model, MILLION_IN)
    assert cost is not None
    return cost.total_usd


def test_a_steady_stream_resolves_each_key_once(
    resolutions: list[tuple[str, str | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pricer = Pricer(warn=lambda _: None)
    tokens = Tokens(input_tokens=10_000, output_tokens=500, cache_read_tokens=8_000)
    first = pricer.price("anthropic", "claude-haiku-4-5-20251001", tokens)
    pricer.price("anthropic", "claude-made-up", tokens)

    import genai_prices
    from genai_prices import data_snapshot

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("genai-prices called on the cached path")

    monkeypatch.setattr(genai_prices, "calc_price", forbidden)
    monkeypatch.setattr(data_snapshot.DataSnapshot, "find_provider_model", forbidden)
    for _ in range(1_000):
        assert pricer.price("anthropic", "claude-haiku-4-5-20251001", tokens) == first
        assert pricer.price("anthropic", "claude-made-up", tokens) is None
    assert resolutions == [("anthropic", "claude-haiku-4-5-20251001"), ("anthropic", "claude-made-up")]


def test_each_context_is_resolved_once(resolutions: list[tuple[str, str | None]]) -> None:
    pricer = Pricer(warn=lambda _: None)
    for _ in range(3):
        for context in (PricingContext(), PricingContext(batch=True), PricingContext(service_tier="flex")):
            pricer.price("openai", "gpt-5-mini", MILLION_IN, context)
    assert len(resolutions) == 3


def test_prices_follow_their_effective_dates() -> None:
    # genai-prices: Claude Sonnet 4.6 had long-context tiers until 2026-03-12, flat prices from 2026-03-13 (UTC)
    clock = Clock(datetime(2026, 3, 12, 23, 59, 59, tzinfo=timezone.utc))
    pricer = Pricer(clock=clock)
    long_call = Tokens(input_tokens=300_000, output_tokens=0)
    before = pricer.price("anthropic", "claude-sonnet-4-6", long_call)
    clock.set(datetime(2026, 3, 13, 0, 0, 1, tzinfo=timezone.utc))
    after = pricer.price("anthropic", "claude-sonnet-4-6", long_call)
    assert before is not None
    assert after is not None
    assert math.isclose(before.total_usd, 300_000 * 6e-6, rel_tol=0, abs_tol=1e-12)
    assert math.isclose(after.total_usd, 300_000 * 3e-6, rel_tol=0, abs_tol=1e-12)


def test_resolved_prices_are_reused_until_the_next_utc_midnight(resolutions: list[tuple[str, str | None]]) -> None:
    clock = Clock(NOW)
    pricer = Pricer(clock=clock)
    input_price(pricer, "openai", "gpt-5")
    clock.set(NOW.replace(hour=23, minute=59, second=59))
    input_price(pricer, "openai", "gpt-5")
    assert len(resolutions) == 1
    clock.set(NOW.replace(hour=0, minute=0, second=0) + timedelta(days=1))
    input_price(pricer, "openai", "gpt-5")
    input_price(pricer, "openai", "gpt-5")
    assert len(resolutions) == 2


def test_unknown_models_are_retried_the_next_day_but_warned_once(
    resolutions: list[tuple[str, str | None]],
) -> None:
    clock = Clock(NOW)
    warned: list[str] = []
    pricer = Pricer(warn=warned.append, clock=clock)
    for day in range(3):
        clock.set(NOW + timedelta(days=day))
        assert pricer.price("openai", "gpt-nope", MILLION_IN) is None
        assert pricer.price("openai", "gpt-nope", MILLION_IN) is None
    assert len(resolutions) == 3
    assert len(warned) == 1


def test_time_of_day_prices_are_resolved_again_at_their_boundary() -> None:
    # genai-prices: deepseek-chat costs $0.27/M input 00:30-16:30 UTC, $0.135/M otherwise
    clock = Clock(datetime(2026, 11, 26, 16, 29, 59, tzinfo=timezone.utc))
    pricer = Pricer(clock=clock)
    assert math.isclose(input_price(pricer, "deepseek", "deepseek-chat"), 0.27, rel_tol=1e-12)
    clock.set(datetime(2026, 11, 26, 16, 30, 0, tzinfo=timezone.utc))
    assert math.isclose(input_price(pricer, "deepseek", "deepseek-chat"), 0.135, rel_tol=1e-12)
    clock.set(datetime(2026, 11, 27, 0, 30, 0, tzinfo=timezone.utc))
    assert math.isclose(input_price(pricer, "deepseek", "deepseek-chat"), 0.27, rel_tol=1e-12)


def test_refresh_forgets_resolved_prices(resolutions: list[tuple[str, str | None]]) -> None:
    pricer = Pricer()
    input_price(pricer, "openai", "gpt-5")
    pricer.refresh()
    input_price(pricer, "openai", "gpt-5")
    assert len(resolutions) == 2


def test_a_failing_resolution_is_an_unknown_price(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> Resolution:
        raise RuntimeError("bad data")

    monkeypatch.setattr(pricer_module, "resolve", broken)
    warned: list[str] = []
    pricer = Pricer(warn=warned.append)
    assert pricer.price("openai", "gpt-5", MILLION_IN) is None
    assert pricer.price("openai", "gpt-5", MILLION_IN) is None
    assert len(warned) == 1
    assert "RuntimeError: bad data" in warned[0]


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricer_module, "MAX_CACHED", 5)
    pricer = Pricer(warn=lambda _: None)
    for index in range(20):
        pricer.price("openai", f"gpt-unknown-{index}", MILLION_IN)
    assert len(pricer._cache) <= 5


# --- the price feed ------------------------------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_failing_feed_is_harmless() -> None:
    """No internet here: a feed that cannot be reached changes nothing, blocks nothing and warns once."""
    warned: list[str] = []
    pricer = Pricer(warn=warned.append)
    before = input_price(pricer, "openai", "gpt-5")
    started = time.monotonic()
    pricer.refresh_from_feed(url=f"http://127.0.0.1:{closed_port()}/data.json", interval_seconds=0.05)
    assert time.monotonic() - started < 0.5
    try:
        feed = pricer._feed
        assert feed is not None
        wait_for(lambda: feed.fetches >= 3)
        assert input_price(pricer, "openai", "gpt-5") == before
        pricer.refresh_from_feed()  # already running: no second thread
        assert pricer._feed is feed
    finally:
        pricer.close()
    assert len(warned) == 1
    assert warned[0].startswith("firsttoken pricing: price feed refresh failed (ConnectError")


FEED = [
    {
        "id": "openai",
        "name": "OpenAI",
        "api_pattern": "https://api\\.openai\\.com",
        "models": [{"id": "gpt-5", "match": {"equals": "gpt-5"}, "prices": {"input_mtok": 9, "output_mtok": 90}}],
    }
]


@pytest.fixture
def feed_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(FEED).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data.json"
    finally:
        server.shutdown()
        server.server_close()


def test_a_fetched_snapshot_replaces_the_prices_of_this_pricer_only(feed_url: str) -> None:
    from genai_prices import data_snapshot

    bundled = data_snapshot.get_snapshot()
    pricer = Pricer(warn=lambda _: None)
    assert input_price(pricer, "openai", "gpt-5") == 1.25
    pricer.refresh_from_feed(url=feed_url, interval_seconds=3600)
    try:
        wait_for(lambda: input_price(pricer, "openai", "gpt-5") == 9.0)
    finally:
        pricer.close()
    assert pricer.price("anthropic", "claude-haiku-4-5", MILLION_IN) is None  # not in the fetched data
    assert data_snapshot.get_snapshot() is bundled
    assert input_price(Pricer(), "openai", "gpt-5") == 1.25
