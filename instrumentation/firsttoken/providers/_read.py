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


class ParamTable:
    """A provider's request parameters, grouped by type once so reading a body is a few dict lookups per call."""

    __slots__ = ("floats", "ints", "str_lists", "strs")

    def __init__(self, specs: Sequence[ParamSpec]) -> None:
        self.ints = tuple((k, a) for k, a, kind in specs if kind == "int")
        self.floats = tuple((k, a) for k, a, kind in specs if kind == "float")
        self.strs = tuple((k, a) for k, a, kind in specs if kind == "str")
        self.str_lists = tuple((k, a) for k, a, kind in specs if kind == "str_list")


def request_params(body: Mapping[str, Any], table: ParamTable) -> dict[str, AttributeValue]:
    """The request parameters the caller actually sent, typed for span attributes; nothing defaulted or invented.

    Type checks double as the filter for the SDKs' NotGiven/Omit sentinels, which are none of these types.
    """
    attrs: dict[str, AttributeValue] = {}
    get = body.get
    for key, attribute in table.ints:
        value = get(key)
        if type(value) is int:
            attrs[attribute] = value
    for key, attribute in table.floats:
        value = get(key)
        if type(value) is float or type(value) is int:
            attrs[attribute] = float(value)
    for key, attribute in table.strs:
        value = get(key)
        if type(value) is str:
            attrs[attribute] = value
    for key, attribute in table.str_lists:
        value = get(key)
        if value is None:
            continue
        if type(value) is str:
            attrs[attribute] = (value,)
        elif isinstance(value, (list, tuple)):
            attrs[attribute] = tuple(str(v) for v in value)
    return attrs


# One shared `(reason,)` per finish reason. Every span keeps its finish reasons until it is exported; a tuple built per
# call is a new object for the garbage collector to scan (and makes the span's attribute dict a tracked container),
# while a shared one is untracked after its first collection. Bounded: reasons come from the provider.
_REASONS: dict[str, tuple[str]] = {}
# Read-only for callers: `SHARED_REASONS.get(reason) or single_reason(reason)` saves a call on a hit.
SHARED_REASONS: Mapping[str, tuple[str]] = _REASONS
_MAX_REASONS = 256


def finish_reasons(reasons: list[str]) -> tuple[str, ...] | None:
    """The call's finish reasons as the span attribute value, None when there are none."""
    if len(reasons) != 1:
        return tuple(reasons) or None
    return single_reason(reasons[0])


def single_reason(reason: str) -> tuple[str]:
    shared = _REASONS.get(reason)
    if shared is None:
        shared = (reason,)
        if len(_REASONS) < _MAX_REASONS:
            _REASONS[reason] = shared
    return shared


def mark_content_chunk(facts: CallFacts, now: float) -> None:
    """A stream chunk that carries content or a tool-call delta: the first one sets time to first chunk."""
    if facts.first_chunk_at is None:
        facts.first_chunk_at = now
    facts.last_chunk_at = now
    facts.chunks += 1


def tool_definitions(body: Mapping[str, Any], key: str = "tools") -> Any:
    """The request's tool list, or None; only real lists/tuples (a one-shot iterable must not be consumed)."""
    tools = body.get(key)
    return tools if (type(tools) is list or type(tools) is tuple) and tools else None


# type -> is it a Mapping: request bodies are full of the SDKs' NotGiven/Omit sentinels, and asking the Mapping ABC
# about one costs several times a dict lookup. Bounded; a class's answer does not change between calls.
_IS_MAPPING: dict[type[Any], bool] = {dict: True, type(None): False}
_MAX_TYPES = 256


def mapping(value: Any) -> Mapping[str, Any] | None:
    """`value` if it is a mapping (dicts take the fast path), else None."""
    cls = type(value)
    known = _IS_MAPPING.get(cls)
    if known is None:
        known = isinstance(value, Mapping)
        if len(_IS_MAPPING) < _MAX_TYPES:
            _IS_MAPPING[cls] = known
    return value if known else None
