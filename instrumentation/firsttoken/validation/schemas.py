"""JSON Schema validators, compiled once per distinct schema and cached.

Compiling (fastjsonschema generates Python code) costs milliseconds, validating a few microseconds, so the cache is
what makes per-call validation affordable. Lookup is by object identity first (a module-level TOOLS list is the
same object on every call) and by canonical JSON second (SDK helpers such as `parse()` rebuild the schema dict per
call). A schema that cannot be compiled is remembered as such: its outputs are reported as unchecked, never as
valid or invalid.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import fastjsonschema

Validator = Callable[[Any], Any]

_UNCOMPILABLE = object()


class SchemaError(Exception):
    """The data does not satisfy the schema; `reason` is short and carries no data values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SchemaValidators:
    def __init__(self, max_entries: int = 512) -> None:
        # id(schema) -> (schema, its validator or None when it cannot be compiled). Per-call code reads a hit here
        # directly (`hit[0] is schema`), calling `validator` only on a miss.
        self.by_id: dict[int, tuple[Any, Validator | None]] = {}
        self._by_text: OrderedDict[str, Any] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def validator(self, schema: Any) -> Validator | None:
        """The compiled validator for `schema`, or None when it cannot be compiled (unsupported or malformed)."""
        if not isinstance(schema, dict):
            return None
        hit = self.by_id.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        try:
            text = json.dumps(schema, sort_keys=True, separators=(",", ":"), default=str)
        except (TypeError, ValueError):
            return None
        with self._lock:
            compiled = self._by_text.get(text)
            if compiled is None:
                try:
                    compiled = fastjsonschema.compile(schema)
                except Exception:  # malformed or unsupported schema: unchecked, not invalid
                    compiled = _UNCOMPILABLE
                self._by_text[text] = compiled
                if len(self._by_text) > self._max:
                    self._by_text.popitem(last=False)
            else:
                self._by_text.move_to_end(text)
            if len(self.by_id) >= self._max:
                self.by_id.clear()
            validator = None if compiled is _UNCOMPILABLE else cast(Validator, compiled)
            # Holding the schema keeps its id from being reused by another object while cached.
            self.by_id[id(schema)] = (schema, validator)
        return validator

    @staticmethod
    def check(validator: Validator, data: Any) -> None:
        """Raise SchemaError with a short, value-free reason when `data` fails."""
        try:
            validator(data)
        except Invalid as exc:
            raise SchemaError(failure_reason(exc)) from None


# What a compiled validator raises when the data fails (callers on the hot path call the validator directly).
Invalid = fastjsonschema.JsonSchemaValueException


def failure_reason(exc: fastjsonschema.JsonSchemaValueException) -> str:
    """The rule and the path of keys only: the failing value may be user content."""
    path = ".".join(str(p) for p in (exc.path or [])[1:])
    reason = f"schema:{exc.rule}" + (f" at {path}" if path else "")
    return reason[:120]
