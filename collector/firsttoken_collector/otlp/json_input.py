"""OTLP/JSON request bodies -> protobuf messages.

OTLP/JSON is the protobuf JSON mapping with two differences that `json_format` alone gets wrong: trace and span ids
are hex strings (the mapping would read them as base64), and unknown fields must be ignored. Ids are rewritten to
base64 before `json_format.ParseDict`, which already accepts lowerCamelCase and snake_case keys, integer enums, and
64-bit integers as strings or numbers.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from firsttoken_collector.otlp.decoded import MalformedRequest

_ID_KEYS = frozenset({"traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"})

M = TypeVar("M", bound=Message)


def _hex_ids_to_base64(node: Any) -> None:
    """Rewrite every hex id value in place (ids only occur as dict keys, never as attribute values)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in _ID_KEYS and isinstance(value, str):
                    try:
                        raw = bytes.fromhex(value)
                    except ValueError:
                        raise MalformedRequest(f"{key} is not a hex string") from None
                    item[key] = base64.b64encode(raw).decode("ascii")
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(value for value in item if isinstance(value, (dict, list)))


def parse_json(body: bytes, message: M) -> M:
    """Fill `message` from an OTLP/JSON body; MalformedRequest if it is not valid OTLP/JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("request body is not valid UTF-8") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise MalformedRequest(f"request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedRequest("request body must be a JSON object")
    _hex_ids_to_base64(document)
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError, binascii.Error) as error:
        raise MalformedRequest(f"request body is not a valid OTLP/JSON message: {error}") from None
    return message
