"""Deterministic token counting and chunking.

The fake has no tokenizer; it needs counts that are stable (the same prompt always
costs the same), monotone in prompt size, and cheap. Roughly four UTF-8 bytes per
token, at least one per block, matches real tokenizers closely enough for cost and
cache arithmetic in tests. Output is chunked so one chunk is one output token,
which keeps `usage.output_tokens` equal to what a stream delivered.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any

BYTES_PER_TOKEN = 4
FRAGMENT_CHARS = 4
"""Streamed JSON (tool arguments, structured output) is cut into pieces this long."""

_LOREM = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
]


def canonical_json(value: Any) -> str:
    """Key-sorted compact JSON: the same object always counts and hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def count_text(text: str) -> int:
    """Tokens in one block of text: ceil(utf-8 bytes / 4), minimum 1."""
    return max(1, math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN))


def count_json(value: Any) -> int:
    """Tokens of a structured block (a tool definition, a tool call), via its canonical JSON."""
    return count_text(canonical_json(value))


@dataclass(frozen=True)
class Segment:
    """One countable, cacheable piece of a prompt, in prompt order.

    Attributes:
        content: Canonical text of the piece; prompt-cache keys hash it.
        tokens: Its token count.
        cache_ttl: `"5m"` / `"1h"` when the piece ends with an Anthropic cache breakpoint.
    """

    content: str
    tokens: int
    cache_ttl: str | None = None


def text_segment(text: str, cache_ttl: str | None = None) -> Segment:
    """A prompt piece made of plain text."""
    return Segment(text, count_text(text), cache_ttl)


def json_segment(value: Any, cache_ttl: str | None = None) -> Segment:
    """A prompt piece counted through its JSON (tools, tool calls, images, unknown blocks)."""
    text = canonical_json(value)
    return Segment(text, count_text(text), cache_ttl)


def total_tokens(segments: list[Segment]) -> int:
    """Prompt size: the sum over its pieces."""
    return sum(segment.tokens for segment in segments)


def split_words(text: str) -> list[str]:
    """Split text into word chunks whose concatenation is exactly `text`.

    Each chunk is a word with the whitespace in front of it (how real streams look:
    `"Hello"`, `" world"`); trailing whitespace stays on the last chunk.
    """
    chunks = re.findall(r"\s*\S+", text)
    if not chunks:
        return [text] if text else []
    tail = text[len("".join(chunks)) :]
    chunks[-1] += tail
    return chunks


def split_fragments(text: str, size: int = FRAGMENT_CHARS) -> list[str]:
    """Cut text (usually JSON) into fixed-size pieces, as streamed argument deltas."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def lorem_chunks(rng: random.Random, n: int) -> list[str]:
    """`n` word chunks of filler text: first capitalised, a full stop at the end."""
    words = [rng.choice(_LOREM) for _ in range(n)]
    if words:
        words[0] = words[0].capitalize()
        words[-1] += "."
    return [word if i == 0 else " " + word for i, word in enumerate(words)]


def lorem_text(rng: random.Random, n: int) -> str:
    """`n` filler words as one string (for string values in generated JSON)."""
    return " ".join(rng.choice(_LOREM) for _ in range(n))
