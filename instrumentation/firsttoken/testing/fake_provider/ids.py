"""Realistic-looking identifiers drawn from a seeded generator.

Instrumentation stores and correlates these ids, so they keep each provider's
prefixes and lengths (`msg_01...`, `toolu_01...`, `chatcmpl-...`, `resp_...`,
`call_...`) while staying reproducible for a seeded provider.
"""

from __future__ import annotations

import random
import string

_BASE62 = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"


class IdFactory:
    """Makes ids from one request's random generator (not thread-safe: one per request)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def _draw(self, alphabet: str, length: int) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def anthropic(self, prefix: str) -> str:
        """Anthropic style: `msg_01` + 22 base62 characters (also `toolu_`, `req_`)."""
        return f"{prefix}_01{self._draw(_BASE62, 22)}"

    def chat_completion(self) -> str:
        """`chatcmpl-` + 29 base62 characters."""
        return f"chatcmpl-{self._draw(_BASE62, 29)}"

    def openai_call(self) -> str:
        """Tool call ids of both OpenAI APIs: `call_` + 24 base62 characters."""
        return f"call_{self._draw(_BASE62, 24)}"

    def openai_hex(self, prefix: str) -> str:
        """Responses API object ids: `resp_`, `msg_`, `fc_` + 48 hex characters."""
        return f"{prefix}_{self._draw(_HEX, 48)}"

    def openai_request(self) -> str:
        """OpenAI's `x-request-id`: `req_` + 32 hex characters."""
        return f"req_{self._draw(_HEX, 32)}"

    def fingerprint(self) -> str:
        """A `system_fingerprint` such as `fp_4a9c1d2e3f`."""
        return f"fp_{self._draw(_HEX, 10)}"

    def signature(self) -> str:
        """An opaque thinking-block signature (base64-looking, like the real one)."""
        return self._draw(_BASE62 + "+/", 86) + "=="
