"""OTLP decoding: rows exactly as the ClickHouse exporter writes them, from protobuf and OTLP/JSON alike."""

from __future__ import annotations

import base64
import json
import math

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from firsttoken_collector.otlp.decode import decode_protobuf, decode_request
from firsttoken_collector.otlp.decoded import MalformedRequest
from firsttoken_collector.tables import INSERT_COLUMNS

from .rowblocks import block_rows

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")


def kv(key: str, value: AnyValue) -> KeyValue:
    return KeyValue(key=key, value=value)


def one_span_request(**span_fields: object) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(kv("service.name", AnyValue(string_value="voice-agent")))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "firsttoken"
    scope_spans.scope.version = "0.1"
    span = scope_spans.spans.add()
    span.trace_id = TRACE_ID
    span.span_id = SPAN_ID
    span.name = "chat claude-haiku-4-5"
    span.kind = 3
    span.start_time_unix_nano = 1_700_000_000_123_456_789
    span.end_time_unix_nano = 1_700_000_000_535_456_789
    for key, value in span_fields.items():
        setattr(span, key, value)
    return request


def trace_row(request: ExportTraceServiceRequest) -> dict[str, object]:
    decoded = decode_protobuf("traces", request.SerializeToString())
    (row,) = block_rows(decoded.blocks["otel_traces"])
    return dict(zip(INSERT_COLUMNS["otel_traces"], row, strict=True))


def otlp_json(request: object) -> bytes:
    """OTLP/JSON as an SDK would send it: hex ids, camelCase keys."""
    document = json_format.MessageToDict(request)  # type: ignore[arg-type]

    def fix(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)

    fix(document)
    return json.dumps(document).encode()


def test_span_row_matches_the_exporter_layout() -> None:
    request = one_span_request(parent_span_id=bytes(8))
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.status.code = 2
    span.status.message = "overloaded"
    event = span.events.add(name="gen_ai.content.first_chunk", time_unix_nano=1_700_000_000_354_456_789)
    event.attributes.append(kv("chunk", AnyValue(int_value=0)))
    link = span.links.add(trace_id=TRACE_ID, span_id=SPAN_ID, trace_state="a=b")
    link.attributes.append(kv("x", AnyValue(bool_value=True)))
    row = trace_row(request)
    assert row["Timestamp"] == "1700000000.123456789"
    assert row["TraceId"] == "5b8efff798038103d269b633813fc60c"
    assert row["SpanId"] == "eee19b7ec3c1b174"
    assert row["ParentSpanId"] == ""
    assert row["SpanKind"] == "Client"
    assert row["ServiceName"] == "voice-agent"
    assert row["ResourceAttributes"] == {"service.name": "voice-agent"}
    assert (row["ScopeName"], row["ScopeVersion"]) == ("firsttoken", "0.1")
    assert row["Duration"] == 412_000_000
    assert (row["StatusCode"], row["StatusMessage"]) == ("Error", "overloaded")
    assert row["Events.Timestamp"] == ["1700000000.354456789"]
    assert row["Events.Name"] == ["gen_ai.content.first_chunk"]
    assert row["Events.Attributes"] == [{"chunk": "0"}]
    assert row["Links.TraceId"] == ["5b8efff798038103d269b633813fc60c"]
    assert row["Links.TraceState"] == ["a=b"]
    assert row["Links.Attributes"] == [{"x": "true"}]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (AnyValue(string_value="claude"), "claude"),
        (AnyValue(string_value=""), ""),
        (AnyValue(int_value=-(2**63)), str(-(2**63))),
        (AnyValue(double_value=0.25), "0.25"),
        (AnyValue(double_value=1.0), "1"),
        (AnyValue(double_value=1e-7), "1e-7"),
        (AnyValue(double_value=1e16), "10000000000000000"),
        (AnyValue(double_value=1e21), "1e+21"),
        (AnyValue(double_value=-0.0), "-0"),
        (AnyValue(double_value=math.inf), "+Inf"),
        (AnyValue(double_value=math.nan), "NaN"),
        (AnyValue(bool_value=True), "true"),
        (AnyValue(bool_value=False), "false"),
        (AnyValue(bytes_value=b"\x00\xff"), "AP8="),
        (
            AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="<a&b>"), AnyValue(double_value=2.0)])),
            '["\\u003ca\\u0026b\\u003e",2]',
        ),
        (
            AnyValue(
                kvlist_value=KeyValueList(
                    values=[kv("b", AnyValue(int_value=1)), kv("a", AnyValue(array_value=ArrayValue()))]
                )
            ),
            '{"a":[],"b":1}',
        ),
        (AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=math.nan)])), ""),
        (AnyValue(), ""),
    ],
)
def test_every_value_type_becomes_the_exporters_string(value: AnyValue, text: str) -> None:
    request = one_span_request()
    request.resource_spans[0].scope_spans[0].spans[0].attributes.append(kv("v", value))
    assert trace_row(request)["SpanAttributes"] == {"v": text}


def test_json_and_protobuf_give_identical_rows_and_payload() -> None:
    request = one_span_request(parent_span_id=SPAN_ID, trace_state="k=v")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.extend(
        [
            kv("i", AnyValue(int_value=2**62)),
            kv("d", AnyValue(double_value=0.1)),
            kv("b", AnyValue(bytes_value=b"hi")),
            kv("a", AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="x")]))),
        ]
    )
    span.events.add(name="e", time_unix_nano=5)
    from_proto, payload = decode_request("traces", request.SerializeToString(), "application/x-protobuf")
    from_json, json_payload = decode_request("traces", otlp_json(request), "application/json; charset=utf-8")
    assert from_json == from_proto
    assert ExportTraceServiceRequest.FromString(json_payload) == request
    assert payload == request.SerializeToString()


def test_json_accepts_snake_case_numbers_and_ignores_unknown_fields() -> None:
    body = json.dumps(
        {
            "resource_spans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "trace_id": TRACE_ID.hex().upper(),
                                    "spanId": SPAN_ID.hex(),
                                    "startTimeUnixNano": 1700000000000000000,
                                    "endTimeUnixNano": "1700000000000000001",
                                    "kind": 2,
                                    "futureField": {"x": 1},
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    ).encode()
    decoded, _ = decode_request("traces", body, "application/json")
    (row,) = block_rows(decoded.blocks["otel_traces"])
    assert row[1] == TRACE_ID.hex()
    assert row[6] == "Server"
    assert row[12] == 1


def test_partial_success_rejects_unstorable_spans_and_keeps_the_rest() -> None:
    request = one_span_request()
    spans = request.resource_spans[0].scope_spans[0].spans
    spans.add(trace_id=b"short", span_id=SPAN_ID)
    spans.add(trace_id=TRACE_ID, span_id=bytes(8))
    spans.add(trace_id=bytes(16), span_id=SPAN_ID)
    spans.add(trace_id=TRACE_ID, span_id=SPAN_ID, parent_span_id=b"123")
    spans.add(trace_id=TRACE_ID, span_id=SPAN_ID, start_time_unix_nano=2**64 - 1)
    decoded = decode_protobuf("traces", request.SerializeToString())
    assert (decoded.accepted, decoded.rejected, decoded.rows) == (1, 5, 1)
    assert "trace_id must be 16 bytes" in decoded.error_message
    assert "span_id is all zeros" in decoded.error_message


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xff\xff", "application/x-protobuf"),
        (b"\x0a\x02\x12", "application/x-protobuf"),
        (b"{not json", "application/json"),
        (b"\xff{}", "application/json"),
        (b"[]", "application/json"),
        (b'{"resourceSpans": 5}', "application/json"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "application/json"),
        (b"[" * 100_000, "application/json"),
    ],
)
def test_undecodable_bodies_raise_malformed_request(body: bytes, content_type: str) -> None:
    with pytest.raises(MalformedRequest):
        decode_request("traces", body, content_type)


def test_invalid_utf8_in_a_protobuf_string_field_is_malformed() -> None:
    good = one_span_request(name="ab").SerializeToString()
    bad = good.replace(b"\x2a\x02ab", b"\x2a\x02\xc3\x28")
    assert bad != good
    with pytest.raises(MalformedRequest):
        decode_protobuf("traces", bad)


def test_a_span_with_ten_thousand_attributes_decodes() -> None:
    request = one_span_request()
    request.resource_spans[0].scope_spans[0].spans[0].attributes.extend(
        kv(f"k{i}", AnyValue(int_value=i)) for i in range(10_000)
    )
    assert len(trace_row(request)["SpanAttributes"]) == 10_000  # type: ignore[arg-type]


@pytest.mark.parametrize("signal", ["traces", "metrics", "logs"])
def test_empty_request_is_no_rows_and_no_error(signal: str) -> None:
    for body, content_type in ((b"", "application/x-protobuf"), (b"{}", "application/json")):
        decoded, _ = decode_request(signal, body, content_type)  # type: ignore[arg-type]
        assert (decoded.rows, decoded.accepted, decoded.rejected, decoded.blocks) == (0, 0, 0, {})


def test_metrics_fill_all_five_tables_with_exemplars() -> None:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.attributes.append(kv("service.name", AnyValue(string_value="svc")))
    scope_metrics = resource_metrics.scope_metrics.add()
    gauge = scope_metrics.metrics.add(name="g", unit="1")
    point = gauge.gauge.data_points.add(as_int=7, time_unix_nano=10)
    point.exemplars.add(as_double=1.5, trace_id=TRACE_ID, span_id=SPAN_ID, time_unix_nano=9)
    point.exemplars.add(as_int=2)
    total = scope_metrics.metrics.add(name="s")
    total.sum.aggregation_temporality = 2
    total.sum.is_monotonic = True
    total.sum.data_points.add(as_double=math.inf)
    histogram = scope_metrics.metrics.add(name="h").histogram
    histogram.data_points.add(count=3, sum=1.5, bucket_counts=[1, 2], explicit_bounds=[1.0], min=0.1, max=1.0)
    exp = scope_metrics.metrics.add(name="e").exponential_histogram
    exp_point = exp.data_points.add(count=2, scale=-1, zero_count=1)
    exp_point.positive.offset = -2
    exp_point.positive.bucket_counts.extend([1])
    summary = scope_metrics.metrics.add(name="q").summary
    summary_point = summary.data_points.add(count=4, sum=2.0)
    summary_point.quantile_values.add(quantile=0.5, value=0.4)
    scope_metrics.metrics.add(name="no data")
    decoded = decode_protobuf("metrics", request.SerializeToString())
    assert decoded.accepted == 5
    assert decoded.rejected == 0
    tables = {table: block_rows(block) for table, block in decoded.blocks.items()}
    gauge_row = dict(zip(INSERT_COLUMNS["otel_metrics_gauge"], tables["otel_metrics_gauge"][0], strict=True))
    assert gauge_row["Value"] == 7.0
    assert gauge_row["ServiceName"] == "svc"
    assert gauge_row["Exemplars.Value"] == [1.5, 2.0]
    assert gauge_row["Exemplars.TraceId"] == [TRACE_ID.hex(), "0" * 32]
    sum_row = dict(zip(INSERT_COLUMNS["otel_metrics_sum"], tables["otel_metrics_sum"][0], strict=True))
    assert sum_row["Value"] == math.inf
    assert sum_row["IsMonotonic"] is True
    assert sum_row["AggregationTemporality"] == 2
    hist_row = dict(zip(INSERT_COLUMNS["otel_metrics_histogram"], tables["otel_metrics_histogram"][0], strict=True))
    assert hist_row["BucketCounts"] == [1, 2]
    assert hist_row["Min"] == 0.1
    exp_columns = INSERT_COLUMNS["otel_metrics_exp_histogram"]
    exp_row = dict(zip(exp_columns, tables["otel_metrics_exp_histogram"][0], strict=True))
    assert exp_row["Scale"] == -1
    assert exp_row["PositiveOffset"] == -2
    assert exp_row["PositiveBucketCounts"] == [1]
    summary_row = dict(zip(INSERT_COLUMNS["otel_metrics_summary"], tables["otel_metrics_summary"][0], strict=True))
    assert summary_row["ValueAtQuantiles.Quantile"] == [0.5]


def test_log_rows_match_the_exporter_layout() -> None:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add(schema_url="r")
    resource_logs.resource.attributes.append(kv("service.name", AnyValue(string_value="svc")))
    scope_logs = resource_logs.scope_logs.add(schema_url="s")
    scope_logs.scope.name = "sc"
    scope_logs.log_records.add(
        observed_time_unix_nano=1_000_000_001,
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        flags=0x101,
        severity_number=17,
        severity_text="ERROR",
        body=AnyValue(kvlist_value=KeyValueList(values=[kv("m", AnyValue(string_value="x"))])),
        event_name="gen_ai.choice",
    )
    scope_logs.log_records.add(trace_id=b"bad")
    decoded = decode_protobuf("logs", request.SerializeToString())
    assert (decoded.accepted, decoded.rejected) == (1, 1)
    row = dict(zip(INSERT_COLUMNS["otel_logs"], block_rows(decoded.blocks["otel_logs"])[0], strict=True))
    assert row["Timestamp"] == "0000000001.000000001"
    assert row["TraceFlags"] == 1
    assert row["SeverityNumber"] == 17
    assert row["Body"] == '{"m":"x"}'
    assert row["EventName"] == "gen_ai.choice"
    assert (row["ResourceSchemaUrl"], row["ScopeSchemaUrl"], row["ScopeName"]) == ("r", "s", "sc")
