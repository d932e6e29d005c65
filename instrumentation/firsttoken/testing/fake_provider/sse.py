"""JSON encoding and Server-Sent-Event framing shared by every wire module.

Both providers frame streams the same way (`event:` / `data:` lines, a blank line
between events); only Anthropic and the Responses API name their events, and only
Chat Completions ends with `data: [DONE]`. Keeping the framing here means the wire
modules only decide *what* to send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DONE = b"data: [DONE]\n\n"
"""Chat Completions' end-of-stream sentinel; the openai SDK stops reading at it."""


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the real APIs send it (no spaces, non-ASCII kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sse_event(data: Any, event: str | None = None) -> bytes:
    """One SSE event carrying `data` as JSON, optionally named.

    The anthropic SDK skips events without an `event:` line, so Anthropic and the
    Responses API always pass `event`.
    """
    head = f"event: {event}\n".encode() if event is not None else b""
    return head + b"data: " + dumps(data) + b"\n\n"


@dataclass(frozen=True)
class StreamEvent:
    """A framed SSE event plus whether it carries model output.

    Content events are paced by the TTFT / per-token delays; bookkeeping events
    (`message_start`, `response.created`, ...) go out as soon as they are ready,
    like on the real APIs.
    """

    data: bytes
    is_content: bool = False


def content(data: Any, event: str | None = None) -> StreamEvent:
    """A paced event: one model token (or tool-argument fragment) reaches the client."""
    return StreamEvent(sse_event(data, event), is_content=True)


def meta(data: Any, event: str | None = None) -> StreamEvent:
    """An unpaced bookkeeping event."""
    return StreamEvent(sse_event(data, event), is_content=False)
