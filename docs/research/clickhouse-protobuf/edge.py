"""Edge-case OTLP requests for the equality check."""
import math
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValueList, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

def kv(k, **v):
    return KeyValue(key=k, value=AnyValue(**v))

def arr(*vals):
    return ArrayValue(values=list(vals))

CASES = [
    kv("s", string_value="plain"), kv("s_empty", string_value=""), kv("unset"),
    kv("s_html", string_value="<a&b>\u2028x\u2029 \"q\" \\ / \n\t\x01 \x7f é 日本 😀"),
    kv("i0", int_value=0), kv("ineg", int_value=-9223372036854775808), kv("imax", int_value=9223372036854775807),
    kv("b_t", bool_value=True), kv("b_f", bool_value=False),
    kv("d0", double_value=0.0), kv("dneg0", double_value=-0.0), kv("d1", double_value=1.0), kv("d_small", double_value=1e-7),
    kv("d_1e21", double_value=1e21), kv("d_1e20", double_value=1e20), kv("d_frac", double_value=0.1 + 0.2),
    kv("d_nan", double_value=math.nan), kv("d_inf", double_value=math.inf), kv("d_ninf", double_value=-math.inf),
    kv("d_big", double_value=1.7976931348623157e308), kv("d_tiny", double_value=5e-324), kv("d_3e-5", double_value=3.77e-05),
    kv("bytes", bytes_value=b"\x00\xffhello"), kv("bytes_empty", bytes_value=b""),
    kv("arr_s", array_value=arr(AnyValue(string_value="a"), AnyValue(string_value="<b>"))),
    kv("arr_mixed", array_value=arr(AnyValue(int_value=1), AnyValue(double_value=2.5), AnyValue(bool_value=False),
                                     AnyValue(bytes_value=b"xy"), AnyValue(), AnyValue(double_value=1e21), AnyValue(string_value=""))),
    kv("arr_empty", array_value=arr()),
    kv("arr_esc", array_value=arr(AnyValue(string_value="<a&b>\u2028x\u2029 \"q\" \\ / \n\t\x01\x08\x0c\x1f \x7f é 日本 😀"))),
    kv("kv_nan", kvlist_value=KeyValueList(values=[kv("x", double_value=math.inf)])),
    kv("arr_nan", array_value=arr(AnyValue(double_value=math.nan))),
    kv("arr_nested", array_value=arr(AnyValue(array_value=arr(AnyValue(int_value=1))))),
    kv("kvlist", kvlist_value=KeyValueList(values=[kv("z", int_value=1), kv("a", string_value="x&y"), kv("m", bool_value=True)])),
    kv("kvlist_empty", kvlist_value=KeyValueList()),
    kv("kvlist_nested", kvlist_value=KeyValueList(values=[kv("inner", kvlist_value=KeyValueList(values=[kv("q", int_value=2)]))])),
    kv("dup", string_value="first"), kv("dup", string_value="second"),
]

def edge_request() -> ExportTraceServiceRequest:
    t0 = 1_763_000_000_123_456_789
    tid = bytes(range(1, 17))
    spans = []
    def sp(n, **kw):
        base = dict(trace_id=tid, span_id=(n + 1).to_bytes(8, "big"), name=f"edge{n}", start_time_unix_nano=t0 + n,
                    end_time_unix_nano=t0 + n + 1000)
        base.update(kw)
        spans.append(Span(**base))
    sp(0, attributes=CASES, kind=Span.SPAN_KIND_SERVER, status=Status(code=Status.STATUS_CODE_OK, message="fine"))
    sp(1, parent_span_id=bytes(8), kind=7, status=Status(code=5), trace_state="k=v")
    sp(2, parent_span_id=b"\x01" * 8, kind=Span.SPAN_KIND_CONSUMER, end_time_unix_nano=t0)  # end < start -> 0
    sp(3, events=[Span.Event(time_unix_nano=t0 + 5, name="ev", attributes=[kv("e", int_value=3)]),
                  Span.Event(time_unix_nano=0, name="")],
       links=[Span.Link(trace_id=tid, span_id=b"\x02" * 8, trace_state="a=b", attributes=[kv("l", double_value=0.5)]),
              Span.Link(trace_id=bytes(16), span_id=b"")])
    # rejected spans
    sp(4, trace_id=bytes(16))
    sp(5, span_id=b"\x01" * 7)
    sp(6, parent_span_id=b"\x01" * 3)
    sp(7, start_time_unix_nano=2**63)
    sp(8, events=[Span.Event(time_unix_nano=2**64 - 1)])
    sp(9, links=[Span.Link(trace_id=b"\x01" * 5)])
    sp(10, start_time_unix_nano=0, end_time_unix_nano=0, kind=Span.SPAN_KIND_PRODUCER)
    return ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=Resource(attributes=[kv("service.name", string_value="edge-svc"), kv("n", int_value=1)]),
                      scope_spans=[ScopeSpans(scope=InstrumentationScope(name="sc", version="9"), spans=spans[:6]),
                                   ScopeSpans(spans=spans[6:])]),
        ResourceSpans(resource=Resource(attributes=[kv("service.name", int_value=5)]),  # non-string -> ""
                      scope_spans=[ScopeSpans(spans=[Span(trace_id=tid, span_id=b"\x09" * 8, name="svcint",
                                                          start_time_unix_nano=t0)])]),
        ResourceSpans(scope_spans=[ScopeSpans(spans=[Span(trace_id=tid, span_id=b"\x0a" * 8, name="nores",
                                                          start_time_unix_nano=t0)])]),
    ])
