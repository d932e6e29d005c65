"""The usage of one LLM call, in the one convention every provider plug-in converts to before pricing.

Providers disagree about what "input tokens" means (Anthropic's `usage.input_tokens` excludes cache reads and writes;
OpenAI's `prompt_tokens` / `input_tokens` include cached tokens). Pricing a call right depends on settling that once,
so firsttoken uses genai-prices' convention, which is also what `gen_ai.usage.input_tokens` SHOULD carry:

- `input_tokens` is the TOTAL input, cache reads and cache writes included;
- `cache_read_tokens` and `cache_write_tokens` are subsets of it;
- `cache_write_5m_tokens` and `cache_write_1h_tokens` are subsets of the writes (Anthropic's TTL split); writes not
  split by TTL are priced at the provider's default write price (the 5-minute one for Anthropic);
- `reasoning_tokens` are already counted in `output_tokens` by both providers; they are informational only.

A NamedTuple rather than a frozen dataclass: it is just as immutable and typed, and builds in a third of the time
(a frozen dataclass spends ~2 us in `object.__setattr__` for seven fields, more than pricing the call).
"""

from __future__ import annotations

from typing import NamedTuple


class Tokens(NamedTuple):
    """Token counts of one call. `None` means the provider did not report that count (unknown, not zero).

    Example, an Anthropic response whose usage says input_tokens=1000 (uncached), cache_read_input_tokens=8000,
    cache_creation_input_tokens=1000 (all 5-minute), output_tokens=500::

        Tokens(input_tokens=10_000, output_tokens=500, cache_read_tokens=8_000, cache_write_tokens=1_000,
               cache_write_5m_tokens=1_000, cache_write_1h_tokens=0)
    """

    input_tokens: int | None = None
    """Total input, including cache reads and cache writes."""
    output_tokens: int | None = None
    """Total output, including reasoning tokens."""
    cache_read_tokens: int | None = None
    """Input tokens read from the prompt cache (a subset of `input_tokens`)."""
    cache_write_tokens: int | None = None
    """Input tokens written to the prompt cache, all TTLs (a subset of `input_tokens`). When None, taken as
    `cache_write_5m_tokens + cache_write_1h_tokens`."""
    cache_write_5m_tokens: int | None = None
    """Of the writes, those with the 5-minute TTL (Anthropic)."""
    cache_write_1h_tokens: int | None = None
    """Of the writes, those with the 1-hour TTL (Anthropic); priced at 2x input rather than 1.25x."""
    reasoning_tokens: int | None = None
    """Of the output, reasoning tokens. Informational: both providers bill them as output already."""
