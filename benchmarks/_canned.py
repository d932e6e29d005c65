"""In-process transports with canned bytes, so a benchmark measures the SDK and the instrumentation, not a server.

The bodies are realistic (usage with cache fields, tool-free text answers) and built once; each request costs the
handler a dict lookup. Stream bodies have a configurable number of content chunks.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

ANTHROPIC_MODEL = "claude-haiku-4-5"
OPENAI_MODEL = "gpt-5-mini"


def anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": "The capital of France is Paris."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 9,
            "cache_read_input_tokens": 2048,
            "cache_creation_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
        },
    }


def _sse(events: list[dict[str, Any]], named: bool) -> list[bytes]:
    """One network-sized chunk per event, as a server flushes them (one big blob would make some SDK decoders
    quadratic and measure that instead)."""
    out = []
    for event in events:
        prefix = f"event: {event['type']}\n" if named else ""
        out.append(f"{prefix}data: {json.dumps(event, separators=(',', ':'))}\n\n".encode())
    return out


def anthropic_stream(chunks: int) -> list[bytes]:
    message = anthropic_message()
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f" w{i}"}}
        for i in range(chunks)
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": chunks},
        },
        {"type": "message_stop"},
    ]
    return _sse(events, named=True)


def openai_completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-5-mini-2025-08-07",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The capital of France is Paris.", "refusal": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 2060,
            "completion_tokens": 9,
            "total_tokens": 2069,
            "prompt_tokens_details": {"cached_tokens": 2048},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_1",
    }


def openai_stream(chunks: int) -> list[bytes]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-5-mini-2025-08-07"}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    events += [
        {**base, "choices": [{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}]}
        for i in range(chunks)
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append(
        {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 2060, "completion_tokens": chunks, "total_tokens": 2060 + chunks},
        }
    )
    return [*_sse(events, named=False), b"data: [DONE]\n\n"]


class CannedTransport:
    """Answers by path and by the request's `stream` flag; stream length is set per transport."""

    def __init__(self, stream_chunks: int = 20) -> None:
        self.json_bodies = {
            "/v1/messages": json.dumps(anthropic_message()).encode(),
            "/v1/chat/completions": json.dumps(openai_completion()).encode(),
        }
        self.stream_bodies = {
            "/v1/messages": anthropic_stream(stream_chunks),
            "/v1/chat/completions": openai_stream(stream_chunks),
        }

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if b'"stream":true' in request.content:
            return httpx2.Response(200, content=self.stream_bodies[path], headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, content=self.json_bodies[path], headers={"content-type": "application/json"})

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))
