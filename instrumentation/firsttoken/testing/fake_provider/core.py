"""`FakeProvider`: the transport-independent fake of the Anthropic and OpenAI HTTP APIs.

`handle(method, path, headers, body)` routes a request, applies the `x-fake-*`
controls (faults, latency, caching, output shape) and returns a `FakeResponse`
that a transport delivers: `FakeProviderServer` over real sockets, or the httpx2
mock transports in-process. No sockets, threads or sleeps live here.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from firsttoken.testing.fake_provider.anthropic_wire import handle_count_tokens, handle_messages
from firsttoken.testing.fake_provider.cache import PromptCache
from firsttoken.testing.fake_provider.config import FakeProviderConfig
from firsttoken.testing.fake_provider.context import RequestContext, WireResult
from firsttoken.testing.fake_provider.controls import ControlError, Controls, parse_controls
from firsttoken.testing.fake_provider.errors import ApiError, Flavor, error_body
from firsttoken.testing.fake_provider.ids import IdFactory
from firsttoken.testing.fake_provider.openai_chat_wire import handle_chat_completions
from firsttoken.testing.fake_provider.openai_embeddings_wire import handle_embeddings
from firsttoken.testing.fake_provider.openai_responses_wire import handle_responses
from firsttoken.testing.fake_provider.response import FakeResponse, Fault, pace
from firsttoken.testing.fake_provider.sse import dumps

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"
HEALTH_PATHS = ("/", "/health", "/healthz")

_STATUS_FAULTS: Mapping[str, tuple[int, str]] = {
    "429": (429, "Rate limit exceeded: too many requests (injected by x-fake-fault)."),
    "500": (500, "Internal server error (injected by x-fake-fault)."),
    "503": (503, "Service unavailable (injected by x-fake-fault)."),
    "529": (529, "Overloaded (injected by x-fake-fault)."),
}


@dataclass(frozen=True)
class _Route:
    flavor: Flavor
    handler: Callable[[RequestContext], WireResult]


_ANTHROPIC_ROUTES = {
    "/v1/messages": _Route(Flavor.ANTHROPIC, handle_messages),
    "/v1/messages/count_tokens": _Route(Flavor.ANTHROPIC, handle_count_tokens),
}
_OPENAI_ROUTES = {
    "/chat/completions": _Route(Flavor.OPENAI, handle_chat_completions),
    "/responses": _Route(Flavor.OPENAI, handle_responses),
    "/embeddings": _Route(Flavor.OPENAI, handle_embeddings),
}
# OpenAI clients normally have a base_url ending in /v1, but accept both spellings.
ROUTES: Mapping[str, _Route] = {
    **_ANTHROPIC_ROUTES,
    **_OPENAI_ROUTES,
    **{"/v1" + path: route for path, route in _OPENAI_ROUTES.items()},
}


class FakeProvider:
    """Answers Anthropic and OpenAI API requests from one seeded random generator and one prompt cache.

    Thread-safe: the HTTP server calls `handle` from many threads at once.

    Args:
        config: Server-wide defaults for the control headers.
        clock: Monotonic clock (seconds) for prompt-cache TTLs; inject one to test expiry.
    """

    def __init__(self, config: FakeProviderConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or FakeProviderConfig()
        self.cache = PromptCache(clock)
        self._rng = random.Random(self.config.seed)
        self._rng_lock = threading.Lock()

    def reset_cache(self) -> None:
        """Forget all cached prompt prefixes (every request starts cold again)."""
        self.cache.reset()

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        """Answer one request. Never raises: failures become error responses."""
        route_path = path.split("?", 1)[0].rstrip("/") or "/"
        route = ROUTES.get(route_path)
        flavor = route.flavor if route else _guess_flavor(route_path)
        rng = self._request_rng()
        ids = IdFactory(rng)
        request_id = ids.anthropic("req") if flavor is Flavor.ANTHROPIC else ids.openai_request()
        base_headers = {flavor.request_id_header: request_id}
        try:
            if route is None and method.upper() == "GET" and route_path in HEALTH_PATHS:
                return FakeResponse(200, {**base_headers, "content-type": JSON_TYPE}, dumps({"status": "ok"}))
            if route is None:
                raise ApiError(404, f"Not found: {method} {route_path}")
            if method.upper() != "POST":
                raise ApiError(405, f"Method {method} not allowed on {route_path}; use POST")
            try:
                controls = parse_controls(headers, self.config)
            except ControlError as exc:
                raise ApiError(400, str(exc)) from None
            if controls.fault_active and controls.fault in _STATUS_FAULTS:
                return _status_fault(flavor, controls, base_headers, request_id)
            ctx = RequestContext(_parse_body(body), controls, rng, ids, self.cache, self.config)
            result = route.handler(ctx)
        except ApiError as exc:
            return _error(flavor, exc, base_headers, request_id)
        except Exception as exc:  # a bug in the fake: say so in the provider's format
            logger.exception("fake provider failed on %s %s", method, path)
            return _error(flavor, ApiError(500, f"fake provider error: {exc!r}"), base_headers, request_id)
        return _deliver(result, controls, base_headers)

    def _request_rng(self) -> random.Random:
        # One child generator per request: concurrent requests never interleave draws.
        with self._rng_lock:
            return random.Random(self._rng.getrandbits(64))


def _status_fault(flavor: Flavor, controls: Controls, headers: dict[str, str], request_id: str) -> FakeResponse:
    """An injected HTTP error; `retry-after` steers the SDKs' retry wait (0 = their own backoff)."""
    status, message = _STATUS_FAULTS[controls.fault or "500"]
    retry_after = f"{controls.retry_after_s:g}"
    return _error(flavor, ApiError(status, message), {**headers, "retry-after": retry_after}, request_id)


def _guess_flavor(path: str) -> Flavor:
    return Flavor.ANTHROPIC if "/messages" in path or path.startswith("/v1/complete") else Flavor.OPENAI


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"null")
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "request body must be a JSON object")
    return parsed


def _error(flavor: Flavor, error: ApiError, headers: Mapping[str, str], request_id: str) -> FakeResponse:
    return FakeResponse(error.status, {**headers, "content-type": JSON_TYPE}, error_body(flavor, error, request_id))


def _deliver(result: WireResult, controls: Controls, headers: Mapping[str, str]) -> FakeResponse:
    """Attach timing and any transport fault to a handler's result."""
    stream = result.events is not None
    fault = None
    if controls.fault_active and controls.fault == "hang":
        fault = Fault("hang", after_chunks=1 if stream else 0, hang_s=controls.hang_s)
    elif controls.fault_active and controls.fault == "drop":
        fault = Fault("drop", after_chunks=controls.drop_after if stream else 0)
    if result.events is not None:
        return FakeResponse(
            200,
            {**headers, "content-type": SSE_TYPE, "cache-control": "no-cache"},
            chunks=pace(result.events, controls.ttft_s, controls.token_s),
            fault=fault,
        )
    delay = controls.ttft_s + result.generated_tokens * controls.token_s
    return FakeResponse(
        200,
        {**headers, "content-type": JSON_TYPE},
        dumps(result.payload),
        delay_s=delay,
        fault=fault,
    )
