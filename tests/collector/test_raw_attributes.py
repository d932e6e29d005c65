"""Span attributes read from their wire bytes (raw_attributes) give exactly what the parsed-message path gives."""

from __future__ import annotations

import math

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from firsttoken_collector.otlp import raw_attributes
from firsttoken_collector.otlp.anyvalue import attributes_to_map
from firsttoken_collector.otlp.anyvalue import string_attribute as parsed_string_attribute
from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.otlp.decoded import MalformedRequest
from firsttoken_collector.otlp.raw_attributes import attribute_map, string_attribute

from .rowblocks import block_rows

scalars = st.one_of(
    st.text(max_size=200).map(lambda text: AnyValue(string_value=text)),
    st.integers(-(2**63), 2**63 - 1).map(lambda number: AnyValue(int_value=number)),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda number: AnyValue(double_value=number)),
    st.sampled_from([1e21, 1e-7, -0.0, 0.25, 1.0, 5e-324, math.nan]).map(lambda n: AnyValue(double_value=n)),
    st.booleans().map(lambda flag: AnyValue(bool_value=flag)),
    st.binary(max_size=20).map(lambda raw: AnyValue(bytes_value=raw)),
    st.just(AnyValue()),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3).map(lambda items: AnyValue(array_value=ArrayValue(values=items))),
    st.dictionaries(st.text(max_size=5), scalars, max_size=3).map(
        lambda members: AnyValue(
            kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in members.items()])
        )
    ),
)
pairs = st.lists(st.tuples(st.text(max_size=150), values), max_size=12).map(
    lambda items: [KeyValue(key=key, value=value) for key, value in items]
)


@settings(max_examples=400, deadline=None)
@given(pairs, st.booleans())
def test_raw_bytes_give_the_map_and_service_name_of_the_parsed_path(items: list[KeyValue], cached: bool) -> None:
    if not cached:
        raw_attributes.clear_cache()
    raw = [item.SerializeToString() for item in items]
    assert attribute_map(raw) == attributes_to_map(items)
    for key in {item.key for item in items} | {"service.name"}:
        assert string_attribute(raw, key) == parsed_string_attribute(items, key)
    assert attribute_map(raw) == attributes_to_map(items)  # now every entry is cached: same answer


def test_a_repeated_key_keeps_its_last_value_and_a_non_string_service_name_reads_empty() -> None:
    items = [
        KeyValue(key="service.name", value=AnyValue(string_value="first")),
        KeyValue(key="service.name", value=AnyValue(int_value=7)),
    ]
    raw = [item.SerializeToString() for item in items]
    assert attribute_map(raw) == {"service.name": "7"}
    assert string_attribute(raw, "service.name") == ""


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (lengths here stay under 128: one-byte varints)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def _request_with_attribute(raw: bytes) -> bytes:
    span = _field(1, b"t" * 16) + _field(2, b"s" * 8) + _field(9, raw)
    return _field(1, _field(2, _field(2, span)))  # request > resource_spans > scope_spans > spans


@pytest.mark.parametrize(
    "raw",
    [
        b"\x0a\x02\xff\xfe\x12\x03\x0a\x01a",  # key is not UTF-8
        b"\x0a\x01k\x12\x04\x0a\x02\xc3\x28",  # string value is not UTF-8
        b"\x0a\x05k",  # truncated
        b"\x0a\x01k\x12\x09\x2a\x07\x0a\x05\x0a\x03\xff\xff\xff",  # invalid UTF-8 inside an array value
    ],
)
def test_an_invalid_attribute_makes_the_request_malformed_as_a_full_parse_does(raw: bytes) -> None:
    body = _request_with_attribute(raw)
    with pytest.raises(DecodeError):  # the reference parser refuses it ...
        ExportTraceServiceRequest.FromString(body)
    raw_attributes.clear_cache()
    with pytest.raises(MalformedRequest):  # ... and so does the raw-attribute decoder
        decode_request("traces", body, "application/x-protobuf")


def test_a_valid_hand_encoded_attribute_decodes_like_the_reference() -> None:
    body = _request_with_attribute(KeyValue(key="k", value=AnyValue(int_value=-1)).SerializeToString())
    decoded, _ = decode_request("traces", body, "application/x-protobuf")
    (row,) = block_rows(decoded.blocks["otel_traces"])
    assert row[11] == {"k": "-1"}


def test_corrupted_requests_are_refused_exactly_when_the_reference_parser_refuses_them() -> None:
    """Random byte corruptions of a real request: the raw-attribute decoder accepts a request if and only if the
    protobuf library's full parse does (a corrupt attribute of a span rejected for its ids must still fail it)."""
    import random

    from firsttoken_collector.synthetic import trace_request

    rng = random.Random(3)
    base = trace_request(rng, 4)[0].SerializeToString()
    outcomes = {True: 0, False: 0}
    for _ in range(4_000):
        body = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        try:
            ExportTraceServiceRequest.FromString(bytes(body))
            reference = True
        except DecodeError:
            reference = False
        try:
            decode_request("traces", bytes(body), "application/x-protobuf")
            ours = True
        except MalformedRequest:
            ours = False
        assert ours == reference, bytes(body)
        outcomes[ours] += 1
    assert min(outcomes.values()) > 500  # both kinds were exercised


def test_repeated_attributes_stay_cached_while_unique_ones_stream_past(monkeypatch: pytest.MonkeyPatch) -> None:
    """LLM spans repeat most attributes (provider, model, tags) and carry a few unique ones (response ids, costs).
    Many generations' worth of unique values later, the repeated ones are still served from the cache, and the cache
    holds at most two generations."""
    raw_attributes.clear_cache()
    reads: list[bytes] = []
    read = raw_attributes._read
    monkeypatch.setattr(raw_attributes, "_read", lambda raw: reads.append(raw) or read(raw))
    common = [
        KeyValue(key=f"tag.{n}", value=AnyValue(string_value=f"value {n}")).SerializeToString() for n in range(20)
    ]
    generation = raw_attributes._GENERATION_ENTRIES
    for span in range(5 * generation // 3):
        unique = [KeyValue(key="id", value=AnyValue(int_value=span * 3 + n)).SerializeToString() for n in range(3)]
        assert attribute_map([*common, *unique])["tag.7"] == "value 7"
        assert raw_attributes.cached_entries() <= 2 * generation
    assert len(reads) == 20 + 3 * (5 * generation // 3)  # each common attribute was parsed once, ever


def test_a_key_whose_values_never_repeat_stops_being_cached_and_is_judged_again_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Response ids and costs differ on every span: once a retiring generation shows a key holding a large share of
    it, that key's attributes are read without being cached, so the cache keeps to the attributes that repeat.
    The judgement is redone from scratch periodically: a key whose values start repeating is cached again."""
    monkeypatch.setattr(raw_attributes, "_GENERATION_ENTRIES", 64)
    raw_attributes.clear_cache()
    common = [KeyValue(key=f"tag.{n}", value=AnyValue(string_value=f"v{n}")).SerializeToString() for n in range(4)]

    def unique(n: int) -> bytes:
        return KeyValue(key="gen_ai.response.id", value=AnyValue(string_value=f"msg_{n}")).SerializeToString()

    for span in range(200):
        got = attribute_map([*common, unique(span)])
        assert got["gen_ai.response.id"] == f"msg_{span}"
        assert got["tag.3"] == "v3"
    assert raw_attributes.volatile_keys() == {"gen_ai.response.id"}
    before = raw_attributes.cached_entries()
    for span in range(200, 400):
        attribute_map([*common, unique(span)])
    assert raw_attributes.cached_entries() == before  # 200 new ids, none of them kept
    # the ids start repeating; after enough uncached reads (of other volatile keys here) the judgement is forgotten
    # and made again, and the repeating ids are cached from then on
    monkeypatch.setattr(raw_attributes, "_VOLATILE_RECHECK", 50)
    for span in range(64 * 8):
        noise = KeyValue(key=f"noise.{span % 3}", value=AnyValue(int_value=span)).SerializeToString()
        assert attribute_map([*common, unique(span % 2), noise])["gen_ai.response.id"] == f"msg_{span % 2}"
    assert "gen_ai.response.id" not in raw_attributes.volatile_keys()
    assert unique(0) in raw_attributes._young or unique(0) in raw_attributes._old


def test_threads_decoding_at_once_share_the_cache_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small requests are decoded inline in the receiver's threads, all sharing one cache: generations retire while
    other threads read and insert, and every thread still gets exactly its own values."""
    import sys
    import threading

    monkeypatch.setattr(raw_attributes, "_GENERATION_ENTRIES", 256)
    monkeypatch.setattr(raw_attributes, "_VOLATILE_SAMPLE", 10_000)  # judge from every entry: the longest loop
    monkeypatch.setattr(raw_attributes, "_VOLATILE_RECHECK", 300)
    raw_attributes.clear_cache()
    common = [KeyValue(key=f"tag.{n}", value=AnyValue(string_value=f"v{n}")).SerializeToString() for n in range(8)]
    failures: list[BaseException] = []

    def decode(thread: int) -> None:
        try:
            for span in range(3000):
                unique = KeyValue(key=f"id.{span % 4}", value=AnyValue(string_value=f"{thread}-{span}"))
                got = attribute_map([*common, unique.SerializeToString()])
                assert got[f"id.{span % 4}"] == f"{thread}-{span}"
                assert got["tag.7"] == "v7"
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=decode, args=(n,)) for n in range(6)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can, to meet every interleaving
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
