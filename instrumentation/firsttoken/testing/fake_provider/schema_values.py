"""Generate JSON values that satisfy, or deliberately violate, a JSON Schema.

Tool-call arguments and structured outputs must round-trip through the SDK
helpers (`messages.parse`, `chat.completions.parse`, `responses.parse`, pydantic
tool parsing), so valid values follow the schemas pydantic and the SDKs emit:
`$ref`/`$defs`, `anyOf` (optional fields), `enum`/`const`, nested objects and arrays,
common string formats and numeric bounds. `pattern` is not interpreted.

Violating values break the schema in the most common real-world way: a required
property goes missing, else a property gets the wrong type, else an unexpected
property is added. They are still JSON objects when the schema describes one,
because Anthropic tool inputs must be objects even when they are wrong.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

from firsttoken.testing.fake_provider.tokens import lorem_text

Schema = Mapping[str, Any]

_MAX_DEPTH = 6
"""Recursive schemas (trees, linked lists) stop growing here: optional parts are left out."""

_FORMATS: dict[str, str] = {
    "date-time": "2025-01-15T09:30:00Z",
    "date": "2025-01-15",
    "time": "09:30:00",
    "email": "user@example.com",
    "uri": "https://example.com/resource",
    "url": "https://example.com/resource",
    "hostname": "example.com",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
    "duration": "PT5M",
}


class SchemaValues:
    """Value generator bound to one random generator (one per request)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    # -- valid -------------------------------------------------------------------------

    def valid(self, schema: Schema) -> Any:
        """A value that validates against `schema`."""
        return self._valid(schema, schema, 0)

    def _valid(self, node: Schema, root: Schema, depth: int) -> Any:
        if depth > 4 * _MAX_DEPTH:
            return None  # a schema that requires infinite nesting cannot be satisfied anyway
        node = _resolve(node, root)
        if "const" in node:
            return node["const"]
        if node.get("enum"):
            return self._rng.choice(list(node["enum"]))
        if "allOf" in node:
            return self._valid(_merge_all_of(node, root), root, depth)
        branches = node.get("anyOf") or node.get("oneOf")
        if branches:
            return self._valid(self._pick_branch(branches, root, depth), root, depth)
        kind = self._pick_type(node, depth)
        if kind == "object":
            return self._object(node, root, depth)
        if kind == "array":
            return self._array(node, root, depth)
        if kind == "string":
            return self._string(node)
        if kind == "integer":
            return self._integer(node)
        if kind == "number":
            return self._number(node)
        if kind == "boolean":
            return self._rng.random() < 0.5
        if kind == "null":
            return None
        return lorem_text(self._rng, 2)  # unconstrained: any JSON is fine, a string reads best

    def _pick_branch(self, branches: list[Schema], root: Schema, depth: int) -> Schema:
        non_null = [b for b in branches if _resolve(b, root).get("type") != "null"]
        nulls = [b for b in branches if _resolve(b, root).get("type") == "null"]
        if depth >= _MAX_DEPTH and nulls:
            return nulls[0]
        return non_null[0] if non_null else branches[0]

    def _pick_type(self, node: Schema, depth: int) -> str | None:
        declared = node.get("type")
        if isinstance(declared, list):
            types = [t for t in declared if isinstance(t, str)]
            if depth >= _MAX_DEPTH and "null" in types:
                return "null"
            non_null = [t for t in types if t != "null"]
            return non_null[0] if non_null else (types[0] if types else None)
        if isinstance(declared, str):
            return declared
        if "properties" in node or "additionalProperties" in node or "required" in node:
            return "object"
        if "items" in node or "prefixItems" in node:
            return "array"
        return None

    def _object(self, node: Schema, root: Schema, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Schema] = node.get("properties") or {}
        required = set(node.get("required") or [])
        value: dict[str, Any] = {}
        for name, prop in properties.items():
            if name in required or depth < _MAX_DEPTH - 1:
                value[name] = self._valid(prop, root, depth + 1)
        return value

    def _array(self, node: Schema, root: Schema, depth: int) -> list[Any]:
        prefix: list[Schema] = list(node.get("prefixItems") or [])
        items = node.get("items")
        minimum = int(node.get("minItems", 0))
        maximum = node.get("maxItems")
        count = max(minimum, len(prefix), 0 if depth >= _MAX_DEPTH else 2)
        if maximum is not None:
            count = min(count, int(maximum))
        result: list[Any] = []
        for index in range(count):
            if index < len(prefix):
                result.append(self._valid(prefix[index], root, depth + 1))
            elif isinstance(items, Mapping):
                result.append(self._unique_item(items, root, depth, result, bool(node.get("uniqueItems"))))
            else:
                result.append(lorem_text(self._rng, 1))
        return result

    def _unique_item(self, items: Schema, root: Schema, depth: int, taken: list[Any], unique: bool) -> Any:
        value = self._valid(items, root, depth + 1)
        attempts = 0
        while unique and value in taken and attempts < 20:
            value = self._valid(items, root, depth + 1)
            attempts += 1
        return value

    def _string(self, node: Schema) -> str:
        fmt = node.get("format")
        if fmt == "uuid":
            value = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        elif isinstance(fmt, str) and fmt in _FORMATS:
            value = _FORMATS[fmt]
        else:
            value = lorem_text(self._rng, self._rng.randint(1, 4))
        minimum = int(node.get("minLength", 0))
        maximum = node.get("maxLength")
        if len(value) < minimum:
            value = (value + " " + lorem_text(self._rng, minimum))[:minimum].ljust(minimum, "x")
        if maximum is not None and len(value) > int(maximum):
            value = value[: int(maximum)]
        return value

    def _bounds(self, node: Schema, step: float) -> tuple[float, float]:
        low = float(node["minimum"]) if "minimum" in node else None
        high = float(node["maximum"]) if "maximum" in node else None
        if "exclusiveMinimum" in node:
            low = float(node["exclusiveMinimum"]) + step
        if "exclusiveMaximum" in node:
            high = float(node["exclusiveMaximum"]) - step
        if low is None and high is None:
            return 0.0, 100.0
        if low is None:
            low = min(0.0, high - 100.0) if high is not None else 0.0
        if high is None:
            high = low + 100.0
        return low, max(low, high)

    def _integer(self, node: Schema) -> int:
        low, high = self._bounds(node, 1.0)
        lo, hi = int(-(-low // 1)), int(high // 1)
        multiple = node.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            first = -(-lo // multiple) * multiple
            options = list(range(first, hi + 1, multiple))[:1000]
            return self._rng.choice(options) if options else first
        return self._rng.randint(lo, max(lo, hi))

    def _number(self, node: Schema) -> float:
        low, high = self._bounds(node, 0.001)
        return round(self._rng.uniform(low, high), 2) if high - low >= 0.02 else low

    # -- violating ---------------------------------------------------------------------

    def violating(self, schema: Schema) -> Any:
        """A value that fails `schema` (for an object schema: still an object)."""
        node = _resolve(schema, schema)
        if "allOf" in node:
            node = _merge_all_of(node, schema)
        if self._pick_type(node, 0) == "object":
            value = self._object(node, schema, 0)
            required = [name for name in node.get("required") or [] if name in value]
            if required:
                del value[required[0]]
                return value
            properties: Mapping[str, Schema] = node.get("properties") or {}
            if properties:
                name = next(iter(properties))
                value[name] = _wrong_type(properties[name], schema)
                return value
            if node.get("additionalProperties") is False:
                value["unexpected_property"] = "not allowed by the schema"
                return value
            return ["an array where the schema wants an object"]
        return _wrong_type(node, schema)


def _resolve(node: Schema, root: Schema) -> Schema:
    """Follow local `$ref`s (`#/$defs/X`, `#/definitions/X`, any JSON pointer into the root)."""
    seen = 0
    while "$ref" in node and seen < 32:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        node = {**target, **siblings}
        seen += 1
    return node


def _merge_all_of(node: Schema, root: Schema) -> Schema:
    """Flatten `allOf` into one schema (properties and required lists are unioned)."""
    merged: dict[str, Any] = {key: value for key, value in node.items() if key != "allOf"}
    properties: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or [])
    for part in node["allOf"]:
        resolved = _resolve(part, root)
        for key, value in resolved.items():
            if key == "properties":
                properties.update(value)
            elif key == "required":
                required.extend(name for name in value if name not in required)
            else:
                merged.setdefault(key, value)
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def _accepted_types(node: Schema, root: Schema) -> set[str]:
    node = _resolve(node, root)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        return set().union(*(_accepted_types(b, root) for b in branches))
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared, "number"} if declared == "integer" else {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    if "properties" in node:
        return {"object"}
    return set()


def _wrong_type(node: Schema, root: Schema) -> Any:
    """A value of a JSON type the schema does not accept (or outside its enum/const)."""
    resolved = _resolve(node, root)
    if "enum" in resolved or "const" in resolved:
        allowed = list(resolved.get("enum") or []) + ([resolved["const"]] if "const" in resolved else [])
        candidate = "not-one-of-the-allowed-values"
        return candidate if candidate not in allowed else 987654321
    accepted = _accepted_types(node, root)
    candidates: list[tuple[str, Any]] = [
        ("string", "violates the schema"),
        ("integer", 12345),
        ("boolean", True),
        ("array", ["violates", "the", "schema"]),
        ("object", {"violates": "the schema"}),
    ]
    for kind, value in candidates:
        widened = {"integer", "number"} if kind == "integer" else {kind}
        if not widened & accepted:
            return value
    return None if "null" not in accepted else "violates the schema"
