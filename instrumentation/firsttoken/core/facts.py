"""What one API call did, in provider-neutral terms, filled by a provider's response reader or stream recorder.

Token counts follow the GenAI convention, not the provider's: `input_tokens` is the TOTAL input including cache reads
and writes (Anthropic reports input without them; OpenAI with them). `None` means "the provider did not say", which
is different from zero and is reported as missing, never estimated.
"""

from __future__ import annotations

from typing import Any


class CallFacts:
    __slots__ = (
        "cache_1h",
        "cache_5m",
        "cache_creation",
        "cache_read",
        "chunks",
        "counted_tokens",
        "finish_reasons",
        "first_chunk_at",
        "input_tokens",
        "last_chunk_at",
        "output_parts",
        "output_tokens",
        "reasoning_tokens",
        "refusal",
        "response_id",
        "response_model",
        "service_tier",
        "system_fingerprint",
        "tool_arguments",
        "tool_ids",
        "tool_names",
    )

    def __init__(self) -> None:
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: list[str] | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read: int | None = None
        self.cache_creation: int | None = None
        self.cache_5m: int | None = None
        self.cache_1h: int | None = None
        self.reasoning_tokens: int | None = None
        self.counted_tokens: int | None = None
        self.tool_names: list[str] = []
        self.tool_ids: list[str] = []
        # Raw argument strings per tool call, in call order; kept only when something needs them (validation, content).
        self.tool_arguments: list[str] | None = None
        # Output text fragments, kept only when content capture or structured-output validation needs them.
        self.output_parts: list[str] | None = None
        self.refusal: bool = False
        self.service_tier: str | None = None
        self.system_fingerprint: str | None = None
        # Stream timing, perf_counter seconds; set by stream recorders.
        self.first_chunk_at: float | None = None
        self.last_chunk_at: float | None = None
        self.chunks: int = 0

    def add_tool_call(self, name: str | None, call_id: str | None) -> None:
        self.tool_names.append(name or "")
        if call_id:
            self.tool_ids.append(call_id)

    def output_text(self) -> str | None:
        return None if self.output_parts is None else "".join(self.output_parts)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        fields: dict[str, Any] = {k: getattr(self, k) for k in self.__slots__}
        return f"CallFacts({fields})"
