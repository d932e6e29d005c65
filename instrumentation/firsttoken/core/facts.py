"""What one API call did, in provider-neutral terms, filled by a provider's response reader or stream recorder.

Token counts follow the GenAI convention, not the provider's: `input_tokens` is the TOTAL input including cache reads
and writes (Anthropic reports input without them; OpenAI with them). `None` means "the provider did not say", which
is different from zero and is reported as missing, never estimated.
"""

from __future__ import annotations

from typing import Any


class CallFacts:
    """Mutable record of one call. Defaults live on the class, so creating one per call assigns nothing."""

    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: tuple[str, ...] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read: int | None = None
    cache_creation: int | None = None
    cache_5m: int | None = None
    cache_1h: int | None = None
    reasoning_tokens: int | None = None
    counted_tokens: int | None = None
    tool_names: tuple[str, ...] | list[str] = ()
    tool_ids: tuple[str, ...] | list[str] = ()
    # Arguments per tool call, in call order: the raw JSON text (streams, OpenAI) or the decoded object (Anthropic
    # responses); a list only when something needs them (validation, content capture).
    tool_arguments: list[Any] | None = None
    # Output text fragments; a list only when content capture or structured-output validation needs them.
    output_parts: list[str] | None = None
    refusal: bool = False
    service_tier: str | None = None
    system_fingerprint: str | None = None
    # Stream timing, perf_counter seconds; set by stream recorders.
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    chunks: int = 0

    def add_tool_call(self, name: str | None, call_id: str | None) -> None:
        if not self.tool_names:
            self.tool_names = []
            self.tool_ids = []
        self.tool_names.append(name or "")  # type: ignore[union-attr]
        if call_id:
            self.tool_ids.append(call_id)  # type: ignore[union-attr]

    def clear_tool_calls(self) -> None:
        self.tool_names = ()
        self.tool_ids = ()
        if self.tool_arguments is not None:
            self.tool_arguments = []

    def output_text(self) -> str | None:
        return None if self.output_parts is None else "".join(self.output_parts)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"CallFacts({vars(self)})"
