"""In-process httpx2 transports that answer from a `FakeProvider` without sockets.

For benchmarks and fast unit tests: the SDK builds and parses real HTTP messages,
but nothing crosses a socket and, by default, nothing sleeps. Pass
`realtime=True` to honour the TTFT / token delays. Faults become the exceptions
httpx2 would raise on a real connection: a drop is `httpx2.RemoteProtocolError`,
and a hang is `httpx2.ReadTimeout` at once (no client timeout can fire in-process,
so the transport stands in for it).

    client = anthropic.Anthropic(
        api_key="x", base_url="http://fake", http_client=httpx2.Client(transport=mock_transport())
    )
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx2

from firsttoken.testing.fake_provider.core import FakeProvider
from firsttoken.testing.fake_provider.response import FakeResponse, Fault


def mock_transport(provider: FakeProvider | None = None, *, realtime: bool = False) -> httpx2.MockTransport:
    """A transport for `httpx2.Client(transport=...)` backed by `provider` (a new one if omitted)."""
    fake = provider or FakeProvider()

    def handler(request: httpx2.Request) -> httpx2.Response:
        response = _handle(fake, request)
        if realtime:
            time.sleep(response.delay_s)
        if response.chunks is None:
            return httpx2.Response(response.status, headers=dict(response.headers), content=response.body)
        return httpx2.Response(
            response.status, headers=dict(response.headers), stream=_SyncChunks(response, request, realtime)
        )

    return httpx2.MockTransport(handler)


def async_mock_transport(provider: FakeProvider | None = None, *, realtime: bool = False) -> httpx2.MockTransport:
    """A transport for `httpx2.AsyncClient(transport=...)` backed by `provider` (a new one if omitted)."""
    fake = provider or FakeProvider()

    async def handler(request: httpx2.Request) -> httpx2.Response:
        response = _handle(fake, request)
        if realtime:
            await asyncio.sleep(response.delay_s)
        if response.chunks is None:
            return httpx2.Response(response.status, headers=dict(response.headers), content=response.body)
        return httpx2.Response(
            response.status, headers=dict(response.headers), stream=_AsyncChunks(response, request, realtime)
        )

    return httpx2.MockTransport(handler)


def _handle(provider: FakeProvider, request: httpx2.Request) -> FakeResponse:
    response = provider.handle(
        request.method,
        request.url.raw_path.decode("ascii"),
        dict(request.headers.items()),
        request.content,
    )
    if response.chunks is None and response.fault is not None:
        raise _fault_error(response.fault, request, streaming=False)
    return response


def _fault_error(fault: Fault, request: httpx2.Request, *, streaming: bool) -> httpx2.TransportError:
    if fault.kind == "hang":
        return httpx2.ReadTimeout("fake provider hang (x-fake-fault: hang)", request=request)
    if streaming:
        message = "peer closed connection without sending complete message body (x-fake-fault: drop)"
    else:
        message = "Server disconnected without sending a response (x-fake-fault: drop)"
    return httpx2.RemoteProtocolError(message, request=request)


def _steps(response: FakeResponse, request: httpx2.Request) -> Iterator[tuple[float, bytes]]:
    """The `(delay, data)` chunks, raising the fault's exception where the server would misbehave."""
    chunks = response.chunks or ()
    fault = response.fault
    for index, chunk in enumerate(chunks):
        if fault is not None and fault.after_chunks == index:
            raise _fault_error(fault, request, streaming=True)
        yield chunk
    if fault is not None and fault.kind == "drop":  # cut after the last chunk: still no clean end
        raise _fault_error(fault, request, streaming=True)


class _SyncChunks(httpx2.SyncByteStream):
    def __init__(self, response: FakeResponse, request: httpx2.Request, realtime: bool) -> None:
        self._response = response
        self._request = request
        self._realtime = realtime

    def __iter__(self) -> Iterator[bytes]:
        for delay, data in _steps(self._response, self._request):
            if self._realtime and delay > 0:
                time.sleep(delay)
            yield data


class _AsyncChunks(httpx2.AsyncByteStream):
    def __init__(self, response: FakeResponse, request: httpx2.Request, realtime: bool) -> None:
        self._response = response
        self._request = request
        self._realtime = realtime

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for delay, data in _steps(self._response, self._request):
            if self._realtime and delay > 0:
                await asyncio.sleep(delay)
            yield data
