"""Were the model's tool calls well-formed? Arguments must be JSON and satisfy the tool's input schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import is_
from typing import Any

from firsttoken.validation._json import loads
from firsttoken.validation.schemas import Invalid, SchemaError, SchemaValidators


def tool_schemas(tools: Sequence[Any]) -> dict[str, Any]:
    """name -> input schema for function tools in any request shape: Anthropic (`input_schema`), OpenAI Chat
    (`function.parameters`) and Responses (`parameters`). Server tools (web search, ...) map to None."""
    schemas: dict[str, Any] = {}
    for tool in tools:
        if type(tool) is not dict and not isinstance(tool, Mapping):
            continue
        function = tool.get("function")
        if function is not None and isinstance(function, Mapping):
            name, schema = function.get("name"), function.get("parameters")
        else:
            name = tool.get("name")
            schema = tool.get("input_schema", tool.get("parameters"))
        if isinstance(name, str):
            schemas[name] = schema if isinstance(schema, Mapping) else None
    return schemas


# id(tools) -> (the request's tool list, its items when cached, its `tool_schemas`). Applications pass the same tool
# list on every request (a module-level TOOLS), so the name -> schema map is built once per list instead of per call
# that used a tool. A hit needs the very same list holding the very same tool objects (the list is held, so its id is
# not reused while cached); a list whose items were replaced, added or removed is read again. Bounded: a list built
# per request only ever misses. A tool dict edited in place keeps its cached schema, as a schema dict keeps its
# compiled validator in `SchemaValidators`.
_SCHEMAS_BY_LIST: dict[int, tuple[Sequence[Any], tuple[Any, ...], dict[str, Any]]] = {}
_MAX_LISTS = 64


def cached_tool_schemas(tools: Sequence[Any]) -> dict[str, Any]:
    """`tool_schemas(tools)`, reused while `tools` is the same list of the same tool objects; do not mutate it."""
    hit = _SCHEMAS_BY_LIST.get(id(tools))
    if hit is not None and hit[0] is tools and len(tools) == len(hit[1]) and all(map(is_, tools, hit[1])):
        return hit[2]
    schemas = tool_schemas(tools)
    if len(_SCHEMAS_BY_LIST) >= _MAX_LISTS:
        _SCHEMAS_BY_LIST.clear()
    _SCHEMAS_BY_LIST[id(tools)] = (tools, tuple(tools), schemas)
    return schemas


def parse_arguments(raw: Any) -> tuple[bool, Any]:
    """(parsed, value): raw argument text as JSON; an already-decoded object passes through; "" means no arguments."""
    if isinstance(raw, str):
        if not raw.strip():
            return True, {}
        try:
            return True, loads(raw)
        except ValueError:
            return False, None
    return True, raw


def arguments_valid(raw: Any, schema: Any, validators: SchemaValidators) -> bool:
    """False when the arguments are not JSON or fail the schema. A schema that cannot be compiled is not held
    against the model."""
    parsed, value = parse_arguments(raw)
    if not parsed:
        return False
    if schema is None:
        return True
    validator = validators.validator(schema)
    if validator is None:
        return True
    try:
        SchemaValidators.check(validator, value)
    except SchemaError:
        return False
    return True


_NO_SCHEMAS: dict[str, Any] = {}


def check_tool_calls(
    names: Sequence[str], arguments: Sequence[Any], tools: Sequence[Any] | None, validators: SchemaValidators
) -> tuple[bool, ...]:
    """Per tool call, in order: were its arguments valid? Calls whose arguments were not received count as valid
    (nothing to hold against the model). `arguments_valid` per call, written out: this runs on every call that
    used a tool."""
    schemas = cached_tool_schemas(tools) if tools else _NO_SCHEMAS
    verdicts = []
    received = len(arguments)
    validator_for = validators.validator
    compiled = validators.by_id
    for index, name in enumerate(names):
        if index >= received:
            verdicts.append(True)
            continue
        value = arguments[index]
        if type(value) is str:
            parsed, value = parse_arguments(value)
            if not parsed:
                verdicts.append(False)
                continue
        schema = schemas.get(name)
        if schema is None:
            validator = None
        else:
            hit = compiled.get(id(schema))  # `validator_for(schema)`'s cache, read without the call
            validator = hit[1] if hit is not None and hit[0] is schema else validator_for(schema)
        if validator is None:
            verdicts.append(True)
            continue
        try:
            validator(value)
        except Invalid:
            verdicts.append(False)
            continue
        verdicts.append(True)
    return tuple(verdicts)
