"""The transport-independent answer of the fake: status, headers, body or timed chunks, fault.

`FakeProvider.handle` returns a `FakeResponse`; the HTTP server and the httpx2
mock transports are two ways of delivering it. Timing and faults are data here,
not behaviour, so both transports (and tests) can inspect and honour them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from firsttoken.testing.fake_provider.sse import StreamEvent

FaultMode = Literal["drop", "hang"]


@dataclass(frozen=True)
class Fault:
    """A transport-level failure to inject while delivering a response.

    Attributes:
        kind: `"drop"` closes the connection abruptly (no chunked terminator, or no
            response at all); `"hang"` stops sending for `hang_s` seconds, then goes on.
        after_chunks: Chunks delivered before the fault; 0 means before the status line.
        hang_s: Length of a hang.
    """

    kind: FaultMode
    after_chunks: int = 0
    hang_s: float = 0.0


@dataclass(frozen=True)
class FakeResponse:
    """One response of the fake provider.

    Attributes:
        status: HTTP status code.
        headers: Response headers (no `content-length` / `transfer-encoding`: the
            transport adds those).
        body: The complete body of a non-streamed response.
        chunks: For a stream, `(delay_seconds_before_this_chunk, data)` pairs; `None`
            for a non-streamed response.
        delay_s: Wait before sending a non-streamed response (TTFT plus generation time).
        fault: A drop or hang to inject, if any.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: tuple[tuple[float, bytes], ...] | None = None
    delay_s: float = 0.0
    fault: Fault | None = None

    @property
    def is_stream(self) -> bool:
        """True for an SSE stream (`chunks` set), False for a complete body."""
        return self.chunks is not None


def pace(events: Iterable[StreamEvent], ttft_s: float, token_s: float) -> tuple[tuple[float, bytes], ...]:
    """Attach delays: the first content event waits `ttft_s`, later ones `token_s`, others none."""
    chunks: list[tuple[float, bytes]] = []
    seen_content = False
    for event in events:
        delay = 0.0
        if event.is_content:
            delay = token_s if seen_content else ttft_s
            seen_content = True
        chunks.append((delay, event.data))
    return tuple(chunks)
