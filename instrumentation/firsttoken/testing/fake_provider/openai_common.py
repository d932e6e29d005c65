"""Pieces shared by the two OpenAI text APIs (Chat Completions and Responses).

OpenAI caches prompt prefixes automatically: the stable head of a prompt (tools,
system/developer instructions) is cached after it is first seen and read for ten
minutes. Reported input counts *include* the cached tokens, unlike Anthropic's.
"""

from __future__ import annotations

from typing import Any

from firsttoken.testing.fake_provider.context import JsonObject, RequestContext
from firsttoken.testing.fake_provider.generation import OutputPlan
from firsttoken.testing.fake_provider.tokens import Segment, json_segment, text_segment

OPENAI_CACHE_TTL = "10m"
INSTRUCTION_ROLES = ("system", "developer")


def content_segments(content: Any) -> list[Segment]:
    """Segments of a message `content`: a string, or a list of parts (text parts counted as text)."""
    if isinstance(content, str):
        return [text_segment(content)]
    if isinstance(content, list):
        segments = []
        for part in content:
            text = part.get("text") if isinstance(part, dict) else None
            segments.append(text_segment(text) if isinstance(text, str) else json_segment(part))
        return segments
    return [] if content is None else [json_segment(content)]


def cached_prefix_tokens(ctx: RequestContext, api: str, prefix: list[Segment]) -> int:
    """Tokens of `prefix` served from the automatic cache (0 on first sight, then the whole prefix)."""
    if not prefix:
        return 0
    usage = ctx.prompt_cache(f"openai|{api}|{ctx.body['model']}", prefix, trailing_ttl=OPENAI_CACHE_TTL)
    return usage.read_tokens


def reasoning_details(plan: OutputPlan) -> JsonObject:
    """`*_tokens_details` for output: reasoning tokens are hidden but counted in the output total."""
    return {"reasoning_tokens": plan.thinking_tokens}
