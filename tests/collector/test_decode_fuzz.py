"""Property tests: no input makes the decoder raise anything but MalformedRequest, and generated requests
round-trip through a real exporter-schema table in embedded ClickHouse."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.otlp.decoded import MalformedRequest
from firsttoken_collector.otlp.rowformat import encode_rows
from firsttoken_collector.tables import INSERT_COLUMNS

from .rowblocks import block_rows

TRACES_DDL = """CREATE TABLE otel_traces (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)), TraceId String, SpanId String, ParentSpanId String,
    TraceState String, SpanName LowCardinality(String), SpanKind LowCardinality(String),
    ServiceName LowCardinality(String), ResourceAttributes Map(LowCardinality(String), String),
    ScopeName String, ScopeVersion String, SpanAttributes Map(LowCardinality(String), String),
    Duration UInt64, StatusCode LowCardinality(String), StatusMessage String,
    Events Nested (Timestamp DateTime64(9), Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)),
    Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String))
) ENGINE = MergeTree PARTITION BY toDate(Timestamp) ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))"""


texts = st.text(max_size=20)


@st.composite
def span_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=draw(texts))))
    scope_spans = resource_spans.scope_spans.add()
    for _ in range(draw(st.integers(1, 3))):
        span = scope_spans.spans.add()
        span.trace_id = draw(st.binary(min_size=16, max_size=16).filter(any))
        span.span_id = draw(st.binary(min_size=8, max_size=8).filter(any))
        span.name = draw(texts)
        span.kind = draw(st.integers(0, 5))
        span.start_time_unix_nano = draw(st.integers(0, 2**63 - 2))
        span.end_time_unix_nano = draw(st.integers(0, 2**63 - 1))
        span.status.code = draw(st.integers(0, 2))
        for key, value in draw(st.dictionaries(texts, st.one_of(texts, st.integers(-(2**63), 2**63 - 1)))).items():
            any_value = AnyValue(string_value=value) if isinstance(value, str) else AnyValue(int_value=value)
            span.attributes.append(KeyValue(key=key, value=any_value))
    return request


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["application/x-protobuf", "application/json"]))
def test_random_bytes_only_ever_raise_malformed_request(body: bytes, content_type: str) -> None:
    try:
        decode_request("traces", body, content_type)
    except MalformedRequest:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span_requests(), st.data())
def test_mutated_valid_payloads_only_ever_raise_malformed_request(request: Any, data: st.DataObject) -> None:
    payload = bytearray(request.SerializeToString())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(payload) - 1))
        payload[position] = data.draw(st.integers(0, 255))
    for signal in ("traces", "metrics", "logs"):
        try:
            decode_request(signal, bytes(payload), "application/x-protobuf")
        except MalformedRequest:
            pass


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(span_requests(), min_size=1, max_size=3))
def test_generated_requests_round_trip_through_a_real_table(ch_client: Any, requests: list[Any]) -> None:
    ch_client.command("DROP TABLE IF EXISTS otel_traces")
    ch_client.command(TRACES_DDL)
    expected = []
    for request in requests:
        decoded, _ = decode_request("traces", request.SerializeToString(), "application/x-protobuf")
        ch_client.raw_insert(
            "otel_traces",
            list(INSERT_COLUMNS["otel_traces"]),
            insert_block=decoded.blocks["otel_traces"].data,
            fmt=decoded.blocks["otel_traces"].fmt,
        )
        for resource_spans in request.resource_spans:
            for span in resource_spans.scope_spans[0].spans:
                attributes = {
                    pair.key: pair.value.string_value
                    if pair.value.WhichOneof("value") == "string_value"
                    else str(pair.value.int_value)
                    for pair in span.attributes
                }
                expected.append(
                    (
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.start_time_unix_nano,
                        span.name,
                        max(span.end_time_unix_nano - span.start_time_unix_nano, 0),
                        attributes,
                    )
                )
    got = ch_client.query(
        "SELECT TraceId, SpanId, toUnixTimestamp64Nano(Timestamp), SpanName, Duration, SpanAttributes FROM otel_traces"
    ).result_rows
    assert sorted(got, key=repr) == sorted(expected, key=repr)


def _edge_request() -> ExportTraceServiceRequest:
    """Values at the edges of each column: the last storable instant, zero and huge durations, unicode and control
    characters, empty strings, every attribute type, events and links with attributes, a repeated key."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="sv\u00e9")))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "firsttoken"
    for number, (start, end) in enumerate([(0, 0), (2**63 - 1, 2**64 - 1), (1_700_000_000_123_456_789, 1)], 1):
        span = scope_spans.spans.add(
            trace_id=bytes([number]) * 16,
            span_id=bytes([number]) * 8,
            parent_span_id=bytes(8) if number == 1 else bytes([9]) * 8,
            name="chat \u4e2d\u6587 \U0001f600 \x00\t\n",
            kind=number % 6,
            start_time_unix_nano=start,
            end_time_unix_nano=end,
            trace_state="k=v" if number == 2 else "",
        )
        span.status.code = number % 3
        span.status.message = "" if number == 1 else "<&>\"'\\"
        for key, value in [
            ("s", AnyValue(string_value='\u2028 \\ "q"')),
            ("i", AnyValue(int_value=-(2**63))),
            ("d", AnyValue(double_value=1e21)),
            ("b", AnyValue(bool_value=False)),
            ("", AnyValue(string_value="")),
            ("s", AnyValue(string_value="last wins")),
        ]:
            span.attributes.append(KeyValue(key=key, value=value))
        for index in range(number - 1):
            event = span.events.add(name=f"e{index}", time_unix_nano=2**63 - 1 - index)
            event.attributes.append(KeyValue(key="n", value=AnyValue(int_value=index)))
            link = span.links.add(trace_id=bytes(16) if index else bytes([7]) * 16, span_id=bytes([8]) * 8)
            link.trace_state = "a=b"
            link.attributes.append(KeyValue(key="x", value=AnyValue(bool_value=True)))
    return request


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(span_requests(), min_size=1, max_size=3))
def test_arrow_blocks_land_as_the_json_encoding_of_the_same_rows(ch_client: Any, requests: list[Any]) -> None:
    """Spans are inserted as Arrow; ClickHouse must store exactly what the JSONCompactEachRow encoding of the same
    exporter-format values stores (the format the exporter's values are specified in, see rowformat)."""
    columns = list(INSERT_COLUMNS["otel_traces"])
    for table in ("otel_traces", "via_json"):
        ch_client.command(f"DROP TABLE IF EXISTS {table}")
        ch_client.command(TRACES_DDL.replace("CREATE TABLE otel_traces", f"CREATE TABLE {table}"))
    for request in [_edge_request(), *requests]:
        decoded, _ = decode_request("traces", request.SerializeToString(), "application/x-protobuf")
        block = decoded.blocks["otel_traces"]
        assert block.fmt == "ArrowStream"
        ch_client.raw_insert("otel_traces", columns, insert_block=block.data, fmt=block.fmt)
        as_json = encode_rows(block_rows(block))
        ch_client.raw_insert("via_json", columns, insert_block=as_json.data, fmt="JSONCompactEachRow")
    select = f"SELECT {', '.join(f'`{c}`' for c in columns)} FROM {{}} ORDER BY SpanId, Timestamp, SpanName"
    got = ch_client.query(select.format("otel_traces")).result_rows
    want = ch_client.query(select.format("via_json")).result_rows
    assert len(got) >= 3
    assert got == want
