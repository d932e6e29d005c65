"""Span attributes read from their wire bytes, with a cache of the ones seen before.

Why: with the upb backend, every KeyValue and AnyValue read from a parsed request is a Python wrapper object created
on access; for LLM spans (~30 attributes) that was ~40 of the decoder's ~65 microseconds per span. So spans are
parsed with a variant of the OTLP trace schema in which every `attributes` field is `repeated bytes` (the same wire
format: both are length-delimited), and each attribute arrives as the bytes of one KeyValue. LLM traffic repeats most
of its attributes exactly (provider, model, operation, stream flag, finish reason, service name, task and tenant
tags), so those bytes are looked up in a cache; a new one is read by a short parser for the canonical encodings of
strings, ints, doubles and bools, and anything else (arrays, kvlists, bytes, non-canonical encodings) by the
protobuf library and `anyvalue`, which remain the reference for the exporter's text of every value type.

Validation is unchanged: the strings inside an attribute are UTF-8-checked when first read (a bad one makes the
request malformed, as a full parse would), and cached bytes were checked when they were first seen.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterable
from itertools import islice

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from firsttoken_collector.otlp.anyvalue import go_float, value_to_string
from firsttoken_collector.otlp.decoded import MalformedRequest

# (key, the exporter's text of the value, whether the value is a string: pdata's Value.Str() reads only those)
Attribute = tuple[str, str, bool]

_GENERATION_ENTRIES = 32_768
"""Entries per cache generation; at most two generations are held (~16 MB per decoding process)."""
_CACHE_MAX_BYTES_PER_ENTRY = 256  # large values (prompts, documents) are rarely repeated: not worth keeping
# Two generations: lookups go to the young one; when it is full it becomes the old one and a new young one starts.
# An entry still in use is found in the old generation on its next miss and moved forward, so the attributes every
# span repeats survive the unique ones (response and task ids, timings, costs: ~3 of ~30 per LLM span) that fill
# the cache. A single dictionary cleared when full re-read every common attribute after each clear.
_young: dict[bytes, Attribute] = {}
_old: dict[bytes, Attribute] = {}
# Keys whose values hardly ever repeat (response and task ids, costs, timings). Their attributes are read and never
# cached: caching them cost a dictionary insert and a later eviction per span, and they filled the generations, so
# the repeated attributes were moved between generations more often (decode ~51 -> ~42 us per LLM span). A key is
# volatile when it holds at least `_VOLATILE_SHARE` of a retiring generation and its values were seldom seen again
# (`_retire_young`); the set is forgotten after `_VOLATILE_RECHECK` uncached reads (about a minute at full load),
# so a key whose values start repeating is cached again.
_volatile: frozenset[str] = frozenset()
_VOLATILE_SHARE = 1 / 16
_VOLATILE_SAMPLE = 2048  # entries of a retiring generation looked at
_VOLATILE_RECHECK = 1 << 20  # reads of volatile keys after which the set is forgotten and judged again
_volatile_reads = 0
_double = struct.Struct("<d").unpack_from
_parse_key_value = common_pb2.KeyValue.FromString


def _schema_with_raw_attributes() -> type[Message]:
    """ExportTraceServiceRequest whose Resource/Span/Event/Link `attributes` fields are `repeated bytes`."""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        if module in (resource_pb2, trace_pb2):
            for message in proto.message_type:
                _raw_attribute_fields(message)
        pool.Add(proto)
    name = trace_service_pb2.ExportTraceServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def _raw_attribute_fields(message: descriptor_pb2.DescriptorProto) -> None:
    for field in message.field:
        if field.name == "attributes" and field.type_name.endswith(".KeyValue"):
            field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
            field.ClearField("type_name")
    for nested in message.nested_type:
        _raw_attribute_fields(nested)


TraceRequestWithRawAttributes: type[Message] = _schema_with_raw_attributes()


def _read(raw: bytes) -> Attribute:
    """One KeyValue's bytes. The short path covers the canonical encoding of a KeyValue whose lengths fit one byte:
    0x0a <key length> <key> 0x12 <value length> <AnyValue with exactly one field>."""
    try:
        if raw[0] == 0x0A and raw[1] < 0x80:
            end = 2 + raw[1]
            key = raw[2:end].decode()
            if raw[end] == 0x12 and raw[end + 1] < 0x80 and len(raw) == end + 2 + raw[end + 1]:
                tag = raw[end + 2]
                if tag == 0x0A and raw[end + 3] == len(raw) - end - 4:  # string_value
                    return key, raw[end + 4 :].decode(), True
                if tag == 0x18:  # int_value, a varint
                    value = 0
                    shift = 0
                    at = end + 3
                    while True:
                        byte = raw[at]
                        value |= (byte & 0x7F) << shift
                        at += 1
                        if byte < 0x80:
                            break
                        shift += 7
                    if at == len(raw) and value < 1 << 64:
                        return key, str(value - (1 << 64) if value >= 1 << 63 else value), False
                elif tag == 0x21 and len(raw) == end + 11:  # double_value
                    number = _double(raw, end + 3)[0]
                    text = repr(number)
                    # repr is already Go's text unless it is "1.0"-shaped, has an exponent, or is nan/inf
                    if text[-2:] == ".0" or "e" in text or "n" in text:
                        text = go_float(number)
                    return key, text, False
                elif tag == 0x10 and len(raw) == end + 4 and raw[end + 3] < 2:  # bool_value
                    return key, "true" if raw[end + 3] else "false", False
    except (IndexError, UnicodeDecodeError):
        pass  # not the short shape (or not UTF-8): the full parse decides, and rejects what is invalid
    try:
        pair = _parse_key_value(raw)
    except Exception as error:  # DecodeError (incl. invalid UTF-8), RecursionError on absurd nesting
        raise MalformedRequest("request body is not a valid protobuf ExportTraceServiceRequest") from error
    any_value = pair.value
    return pair.key, value_to_string(any_value), any_value.WhichOneof("value") == "string_value"


def _remember(raw: bytes) -> Attribute:
    """An attribute the young generation does not hold: from the old one, else read; kept if it is small and its
    key's values repeat."""
    global _volatile, _volatile_reads
    found = _old.get(raw)
    if found is None:
        found = _read(raw)
        if len(raw) > _CACHE_MAX_BYTES_PER_ENTRY:
            return found
        if found[0] in _volatile:
            _volatile_reads += 1
            if _volatile_reads >= _VOLATILE_RECHECK:
                _volatile, _volatile_reads = frozenset(), 0
            return found
    if len(_young) >= _GENERATION_ENTRIES:
        _retire_young()
    _young[raw] = found
    return found


def _retire_young() -> None:
    """The full young generation becomes the old one. Volatile keys are judged from a sample of it: a key holding a
    large share of the sampled entries, few of which the previous generation also held (a value seen again after a
    retirement is copied forward, so it is in both), has values that do not repeat."""
    global _young, _old, _volatile
    young, old = _young, _old
    if old:  # the first generation has nothing to compare with
        held: Counter[str] = Counter()
        reused: Counter[str] = Counter()
        # Small requests are decoded in the receiver's threads, which insert into `young` meanwhile: the sample is
        # copied in one C-level call (no other thread runs during it), then counted.
        sample = list(islice(young.items(), 0, None, max(1, len(young) // _VOLATILE_SAMPLE)))
        for raw, entry in sample:
            held[entry[0]] += 1
            if raw in old:
                reused[entry[0]] += 1
        floor = sum(held.values()) * _VOLATILE_SHARE
        newly = {key for key, count in held.items() if count >= floor and reused[key] * 10 <= count}
        if newly - _volatile:
            _volatile = _volatile | newly
    _old, _young = young, {}


def clear_cache() -> None:
    """Forget every cached attribute and volatile key (tests: the next reads take the parsing path)."""
    global _volatile, _volatile_reads
    _young.clear()
    _old.clear()
    _volatile, _volatile_reads = frozenset(), 0


def volatile_keys() -> frozenset[str]:
    """The keys currently read without caching (for tests and diagnostics)."""
    return _volatile


def cached_entries() -> int:
    return len(_young) + len(_old)


def attribute(raw: bytes) -> Attribute:
    return _young.get(raw) or _remember(raw)


def attribute_map(pairs: Iterable[bytes]) -> dict[str, str]:
    """The exporter's map column for raw KeyValue bytes (a repeated key keeps its last value, as in Go)."""
    out: dict[str, str] = {}
    get = _young.get
    for raw in pairs:
        found = get(raw) or _remember(raw)
        out[found[0]] = found[1]
    return out


def string_attribute(pairs: Iterable[bytes], key: str) -> str:
    """pdata's `Value.Str()` of the last attribute named `key`: its text if it is a string, else ""."""
    text = ""
    for raw in pairs:
        name, value, is_string = attribute(raw)
        if name == key:
            text = value if is_string else ""
    return text
