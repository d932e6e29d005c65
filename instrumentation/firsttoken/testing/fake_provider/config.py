"""Server-wide defaults of the fake provider.

Every per-request control header falls back to a field here, so a whole test
module (or the `firsttoken fake-provider` CLI) can set, say, a realistic TTFT
once instead of repeating a header on every call.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FakeProviderConfig:
    """Defaults applied when a request does not carry the matching `x-fake-*` header.

    Attributes:
        ttft_ms: Delay before the first content chunk (`x-fake-ttft-ms`).
        token_ms: Delay between content chunks (`x-fake-token-ms`).
        output_tokens: Generated text length in tokens (`x-fake-output-tokens`).
        cache_min_tokens: Shortest prefix that is cached (`x-fake-cache-min-tokens`).
            Real providers use 1024 or more; tests want 0 so small prompts cache.
        hang_s: How long `x-fake-fault: hang` stalls (`x-fake-hang-s`).
        drop_after: Chunks sent before `x-fake-fault: drop` cuts a stream (`x-fake-drop-after`).
        seed: Seed of the provider's random generator. `None` draws a fresh seed, so
            two providers never hand out the same ids; set it for reproducible runs.
        embedding_dimensions: Vector length when an embeddings request has no `dimensions`.
    """

    ttft_ms: float = 0.0
    token_ms: float = 0.0
    output_tokens: int = 8
    cache_min_tokens: int = 0
    hang_s: float = 30.0
    drop_after: int = 2
    seed: int | None = None
    embedding_dimensions: int = 1536

    def __post_init__(self) -> None:
        for name in ("ttft_ms", "token_ms", "hang_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"FakeProviderConfig.{name} must be >= 0")
        for name in ("cache_min_tokens", "drop_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"FakeProviderConfig.{name} must be >= 0")
        for name in ("output_tokens", "embedding_dimensions"):
            if getattr(self, name) < 1:
                raise ValueError(f"FakeProviderConfig.{name} must be >= 1")
