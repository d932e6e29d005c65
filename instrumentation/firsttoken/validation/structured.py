"""Did a requested structured output come back valid? JSON parse plus schema validation; a refusal, an empty or a
truncated answer are their own outcomes, so adherence dashboards can tell a model that broke the schema from one
that declined or ran out of tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

from firsttoken.core.facts import CallFacts
from firsttoken.validation._json import loads
from firsttoken.validation.schemas import Invalid, SchemaValidators, failure_reason
from firsttoken.validation.tool_calls import cached_tool_schemas, parse_arguments

# Outputs longer than this are not validated (reported unchecked): validation must stay bounded on the call path.
MAX_CHECKED_CHARS = 512 * 1024
_TRUNCATED_REASONS = frozenset(("length", "max_tokens", "max_output_tokens"))


class StructuredSpec(NamedTuple):
    """What the request asked for: a JSON schema, any JSON object, or a forced tool call used as a schema.

    Immutable; a NamedTuple because one is built per call that asks for a schema (a frozen dataclass costs ~1 us).
    Per-call code builds one with `tuple.__new__(StructuredSpec, (kind, schema, tool_name))`, which skips the
    NamedTuple's Python-level `__new__`.
    """

    kind: Literal["json_schema", "json_object", "tool"]
    schema: Any = None
    tool_name: str | None = None


def check_structured(
    spec: StructuredSpec, facts: CallFacts, tools: Sequence[Any] | None, validators: SchemaValidators
) -> tuple[bool | None, str | None]:
    """(valid, error). valid is None when the output could not be checked (the error says why)."""
    if facts.refusal:
        return False, "refused"
    truncated = bool(facts.finish_reasons) and facts.finish_reasons[0] in _TRUNCATED_REASONS  # type: ignore[index]
    if spec.kind == "tool":
        return _check_tool(spec, facts, tools, validators)
    parts = facts.output_parts
    text = (parts[0] if len(parts) == 1 else "".join(parts)) if parts is not None else None
    if not text:
        return False, "empty"
    if len(text) > MAX_CHECKED_CHARS:
        return None, "too_large_to_check"
    try:
        data = loads(text)
    except ValueError:
        return False, "truncated" if truncated else "invalid_json"
    if spec.kind == "json_object":
        return (True, None) if isinstance(data, dict) else (False, "not_an_object")
    return _against_schema(spec.schema, data, validators)


def _check_tool(
    spec: StructuredSpec, facts: CallFacts, tools: Sequence[Any] | None, validators: SchemaValidators
) -> tuple[bool | None, str | None]:
    arguments = facts.tool_arguments or []
    for index, name in enumerate(facts.tool_names):
        if name == spec.tool_name and index < len(arguments):
            parsed, value = parse_arguments(arguments[index])
            if not parsed:
                return False, "invalid_json"
            schema = spec.schema if spec.schema is not None else cached_tool_schemas(tools or ()).get(name)
            return _against_schema(schema, value, validators)
    return False, "tool_not_called"


def _against_schema(schema: Any, data: Any, validators: SchemaValidators) -> tuple[bool | None, str | None]:
    """Runs on every call that asks for a schema: the validator cache's hit is read here, `validator()` only misses."""
    if schema is None:
        return _VALID
    hit = validators.by_id.get(id(schema))
    validator = hit[1] if hit is not None and hit[0] is schema else validators.validator(schema)
    if validator is None:
        return None, "schema_unsupported"
    try:
        validator(data)
    except Invalid as exc:
        return False, failure_reason(exc)
    return _VALID


_VALID: tuple[bool, None] = (True, None)
