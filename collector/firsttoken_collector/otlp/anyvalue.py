"""OTLP attribute values as the strings the ClickHouse exporter stores in its `Map(..., String)` columns.

The exporter writes `pcommon.Value.AsString()` for every attribute, so a dashboard reading `SpanAttributes[...]`
sees the same text whichever collector wrote the row: ints in decimal, doubles in the ES6/Go-JSON shortest form
(`1`, `0.25`, `1e-7`, `1e+21`), bools `true`/`false`, bytes base64, arrays and kvlists as Go's `json.Marshal`
output (map keys sorted, `<>&` escaped). One deliberate difference: a non-finite double becomes `NaN`/`+Inf`/`-Inf`
rather than pdata's `json: unsupported value: NaN`.

`attributes_to_map` serves metrics and logs, and is the reference the span decoder's faster reader of attribute
bytes (`raw_attributes`) is tested against. With the upb backend every field read is a C call that builds a Python
object, and `WhichOneof` is the most expensive of them, so string values (the common case) are read directly and only
non-strings pay for `WhichOneof`.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from decimal import Decimal

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

_json_string = json.JSONEncoder(ensure_ascii=False).encode


class _NotJsonable(ValueError):
    """Go's json.Marshal fails on NaN/Inf inside an array or kvlist; AsString then yields ""."""


def go_float(value: float) -> str:
    """Format a double as Go's `float64AsString` (ES6 number-to-string) does."""
    text = repr(value)
    if text.endswith(".0"):
        return text[:-2]
    if "e" not in text:
        if value != value or value in (math.inf, -math.inf):
            return "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
        return text
    magnitude = abs(value)
    if magnitude < 1e-6 or magnitude >= 1e21:
        mantissa, exponent = text.split("e")
        if exponent.startswith("-0"):
            exponent = "-" + exponent[2:]
        return f"{mantissa}e{exponent}"
    return format(Decimal(text), "f")


def go_json_string(text: str) -> str:
    """A JSON string literal as Go's encoding/json writes it (HTML-safe escapes, U+2028/9 escaped)."""
    quoted: str = _json_string(text)
    if "<" in quoted or ">" in quoted or "&" in quoted or "\u2028" in quoted or "\u2029" in quoted:
        quoted = (
            quoted.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
        )
    return quoted


def _go_json(value: AnyValue) -> str:
    which = value.WhichOneof("value")
    if which == "string_value":
        return go_json_string(value.string_value)
    if which == "int_value":
        return str(value.int_value)
    if which == "double_value":
        number = value.double_value
        if math.isnan(number) or math.isinf(number):
            raise _NotJsonable(number)
        return go_float(number)
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "bytes_value":
        return '"' + base64.b64encode(value.bytes_value).decode("ascii") + '"'
    if which == "array_value":
        return "[" + ",".join([_go_json(item) for item in value.array_value.values]) + "]"
    if which == "kvlist_value":
        return _go_json_object(value.kvlist_value.values)
    return "null"


def _go_json_object(pairs: Iterable[KeyValue]) -> str:
    members = {pair.key: pair.value for pair in pairs}
    return "{" + ",".join([go_json_string(key) + ":" + _go_json(members[key]) for key in sorted(members)]) + "}"


def value_to_string(value: AnyValue) -> str:
    """`pcommon.Value.AsString()` for one OTLP AnyValue."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return str(value.int_value)
    if which == "double_value":
        return go_float(value.double_value)
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    try:
        if which == "array_value":
            return "[" + ",".join([_go_json(item) for item in value.array_value.values]) + "]"
        if which == "kvlist_value":
            return _go_json_object(value.kvlist_value.values)
    except _NotJsonable:
        return ""
    return ""


def attributes_to_map(pairs: Iterable[KeyValue]) -> dict[str, str]:
    """OTLP attributes as the exporter's map column (a repeated key keeps its last value, as in Go)."""
    out: dict[str, str] = {}
    for pair in pairs:
        value = pair.value
        text = value.string_value
        if text:
            out[pair.key] = text
            continue
        which = value.WhichOneof("value")
        if which == "int_value":
            out[pair.key] = str(value.int_value)
        elif which == "double_value":
            text = repr(value.double_value)
            # Fast path for the common "0.25" shape; go_float handles "1.0", exponents and non-finite values.
            out[pair.key] = go_float(value.double_value) if text.endswith(".0") or "e" in text or "n" in text else text
        elif which == "bool_value":
            out[pair.key] = "true" if value.bool_value else "false"
        else:
            out[pair.key] = value_to_string(value)
    return out


def string_attribute(pairs: Iterable[KeyValue], key: str) -> str:
    """The value of a string-typed attribute, else "" (pdata's `Value.Str()`, used for `service.name`)."""
    found = ""
    for pair in pairs:
        if pair.key == key:
            found = pair.value.string_value
    return found
