"""Small, allocation-light readers shared by the provider modules (table-driven request parameters, safe casts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from opentelemetry.util.types import AttributeValue

from firsttoken.core.facts import CallFacts

Kind = Literal["int", "float", "str", "str_list"]
# (body key, span attribute, kind)
ParamSpec = tuple[str, str, Kind]


def as_int(value: Any) -> int | None:
    return value if type(value) is int else (int(value) if isinstance(value, int) else None)


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def request_params(body: Mapping[str, Any], specs: Sequence[ParamSpec]) -> dict[str, AttributeValue]:
    """The request parameters the caller actually sent, typed for span attributes; nothing defaulted or invented."""
    attrs: dict[str, AttributeValue] = {}
    for key, attribute, kind in specs:
        value = body.get(key)
        if value is None:
            continue
        if kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                attrs[attribute] = int(value)
        elif kind == "float":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attrs[attribute] = float(value)
        elif kind == "str":
            if isinstance(value, str):
                attrs[attribute] = value
        elif isinstance(value, str):
            attrs[attribute] = (value,)
        elif isinstance(value, Sequence):
            attrs[attribute] = tuple(str(v) for v in value)
    return attrs


def mark_content_chunk(facts: CallFacts, now: float) -> None:
    """A stream chunk that carries content or a tool-call delta: the first one sets time to first chunk."""
    if facts.first_chunk_at is None:
        facts.first_chunk_at = now
    facts.last_chunk_at = now
    facts.chunks += 1


def tool_definitions(body: Mapping[str, Any], key: str = "tools") -> Any:
    tools = body.get(key)
    return tools if isinstance(tools, Sequence) and not isinstance(tools, str) and tools else None
