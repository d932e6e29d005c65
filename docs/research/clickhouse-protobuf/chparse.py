"""Prototype: let ClickHouse parse OTLP ExportTraceServiceRequest protobuf and build exporter-format otel_traces rows.

Two entry shapes, same transform SQL:
  * file():  INSERT INTO otel_traces SELECT <transform> FROM file('<batch>', 'Protobuf', '<STRUCTURE>') SETTINGS ...
  * Null-table + MV: INSERT INTO otlp_trace_requests FORMAT Protobuf <body>  (works for chDB raw_insert and a server's
    HTTP body; the MV runs the transform into otel_traces).
A batch = many ExportTraceServiceRequest messages, each prefixed with its varint length (ClickHouse `Protobuf`).
"""
from __future__ import annotations

ONEOF = ("Enum8('none'=0,'string_value'=1,'bool_value'=2,'int_value'=3,'double_value'=4,"
         "'array_value'=5,'kvlist_value'=6,'bytes_value'=7,'string_value_strindex'=8)")
# AnyValue with scalar members only; `value` is the oneof-presence column (input_format_protobuf_oneof_presence=1).
SCALAR = f"value {ONEOF}, string_value String, bool_value Bool, int_value Int64, double_value Float64, bytes_value String"
# One level of nesting: arrays of scalars, kvlists of scalars. Deeper values are only seen through their oneof tag.
ANYVALUE = (f"Tuple({SCALAR}, array_value Tuple(values Array(Tuple({SCALAR}))), "
            f"kvlist_value Tuple(values Array(Tuple(key String, value Tuple({SCALAR})))))")
KV = f"Array(Tuple(key String, value {ANYVALUE}))"
SPAN = (f"Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, name String, kind Int32, "
        f"start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {KV}, "
        f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {KV})), "
        f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {KV})), "
        f"status Tuple(message String, code Int32))")
STRUCTURE = (f"resource_spans Array(Tuple(resource Tuple(attributes {KV}), "
             f"scope_spans Array(Tuple(scope Tuple(name String, version String), spans Array({SPAN})))))")

MAX_NS = 2**63 - 1


def fmt_double(x: str) -> str:
    """pdata AsString for a double: ClickHouse's shortest repr matches Go's except the '+' of positive exponents and
    nan/inf spelling (measured on 25k random doubles)."""
    return (f"multiIf(isNaN({x}), 'NaN', isInfinite({x}), if({x} > 0, '+Inf', '-Inf'), "
            f"abs({x}) >= 1e21, replaceOne(toString({x}), 'e', 'e+'), toString({x}))")


def json_string(s: str) -> str:
    """Go encoding/json string literal (HTML-safe): toJSONString, then '/' unescaped, <>& and U+2028/9 escaped, and
    \\u00XX escapes lower-cased (ClickHouse writes \\u001F, Go \\u001f)."""
    j = f"toJSONString({s})"
    for a, b in (("\\\\/", "/"), ("<", "\\\\u003c"), (">", "\\\\u003e"), ("&", "\\\\u0026"),
                 ("\\u2028", "\\\\u2028"), ("\\u2029", "\\\\u2029")):
        j = f"replaceAll({j}, '{a}', '{b}')"
    lower = j
    for ch in ("0B", "0E", "0F", "1A", "1B", "1C", "1D", "1E", "1F"):
        lower = f"replaceAll({lower}, '\\\\u00{ch}', '\\\\u00{ch.lower()}')"
    return lower


def scalar_json(v: str) -> str:
    """One scalar AnyValue as a JSON member (inside an array / kvlist); NULL for non-finite doubles (Go json fails)."""
    return (f"multiIf({v}.value = 'string_value', {json_string(f'{v}.string_value')}, "
            f"{v}.value = 'int_value', toString({v}.int_value), "
            f"{v}.value = 'double_value', if(isFinite({v}.double_value), {fmt_double(f'{v}.double_value')}, NULL), "
            f"{v}.value = 'bool_value', if({v}.bool_value, 'true', 'false'), "
            f"{v}.value = 'bytes_value', concat('\"', base64Encode({v}.bytes_value), '\"'), "
            f"{v}.value IN ('array_value', 'kvlist_value'), '\"<nested>\"', "  # deeper than one level: unsupported
            f"'null')")


def any_string(v: str) -> str:
    """pdata Value.AsString() for an AnyValue tuple expression."""
    arr = f"{v}.array_value.values"
    kvl = f"arraySort(x -> x.key, {v}.kvlist_value.values)"  # Go json.Marshal of a map: keys sorted
    arr_json = f"arrayMap(e -> {scalar_json('e')}, {arr})"
    kvl_json = f"arrayMap(m -> concat({json_string('m.key')}, ':', {scalar_json('m.value')}), {kvl})"
    return (f"multiIf({v}.value = 'string_value', {v}.string_value, "
            f"{v}.value = 'int_value', toString({v}.int_value), "
            f"{v}.value = 'double_value', {fmt_double(f'{v}.double_value')}, "
            f"{v}.value = 'bool_value', if({v}.bool_value, 'true', 'false'), "
            f"{v}.value = 'bytes_value', base64Encode({v}.bytes_value), "
            f"{v}.value = 'array_value', if(arrayExists(x -> x IS NULL, {arr_json}), '', "
            f"concat('[', arrayStringConcat({arr_json}, ','), ']')), "
            f"{v}.value = 'kvlist_value', if(arrayExists(x -> x IS NULL, {kvl_json}), '', "
            f"concat('{{', arrayStringConcat({kvl_json}, ','), '}}')), "
            f"'')")


def attr_map(a: str, dedupe: bool = True) -> str:
    """Array(KeyValue) -> Map(String, String). With dedupe a repeated key keeps its last value (as the Python
    decoder does)."""
    keys = f"arrayMap(kv -> kv.key, {a})"
    vals = f"arrayMap(kv -> {any_string('kv.value')}, {a})"
    if not dedupe:
        return f"mapFromArrays({keys}, {vals})"
    # keep element i unless the same key occurs later; cheap path when keys are already distinct
    return (f"if(length(arrayDistinct({keys})) = length({a}), mapFromArrays({keys}, {vals}), "
            f"mapFromArrays(arrayFilter((k, i) -> NOT has(arraySlice({keys}, i + 1), k), {keys}, arrayEnumerate({a})), "
            f"arrayFilter((x, k, i) -> NOT has(arraySlice({keys}, i + 1), k), {vals}, {keys}, arrayEnumerate({a}))))")


def hex_id(x: str, zero_len: int) -> str:
    # traceutil.*IDToHexOrEmptyString: "" for all-zero
    return f"if({x} = repeat('\\0', {zero_len}), '', lower(hex({x})))"


def ts(ns: str) -> str:
    return f"fromUnixTimestamp64Nano(toInt64({ns}), 'UTC')"


SPAN_OK = (f"length(sp.trace_id) = 16 AND sp.trace_id != repeat('\\0', 16) AND length(sp.span_id) = 8 "
           f"AND sp.span_id != repeat('\\0', 8) AND (sp.parent_span_id = '' OR length(sp.parent_span_id) = 8) "
           f"AND sp.start_time_unix_nano <= {MAX_NS} "
           f"AND arrayAll(e -> e.time_unix_nano <= {MAX_NS}, sp.events) "
           f"AND arrayAll(l -> (l.trace_id = '' OR length(l.trace_id) = 16) AND (l.span_id = '' OR length(l.span_id) = 8), sp.links)")

COLUMNS = ("Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, ResourceAttributes, "
           "ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage, `Events.Timestamp`, "
           "`Events.Name`, `Events.Attributes`, `Links.TraceId`, `Links.SpanId`, `Links.TraceState`, `Links.Attributes`")


def transform(source: str, dedupe: bool = True) -> str:
    """SELECT producing otel_traces rows (insert column order = COLUMNS) from a relation with column resource_spans."""
    m = lambda a: attr_map(a, dedupe)  # noqa: E731
    return f"""SELECT
    {ts('sp.start_time_unix_nano')} AS Timestamp,
    lower(hex(sp.trace_id)) AS TraceId,
    lower(hex(sp.span_id)) AS SpanId,
    {hex_id('sp.parent_span_id', 8)} AS ParentSpanId,
    sp.trace_state AS TraceState,
    sp.name AS SpanName,
    if(sp.kind BETWEEN 0 AND 5, arrayElement(['Unspecified','Internal','Server','Client','Producer','Consumer'], sp.kind + 1), '') AS SpanKind,
    ServiceName,
    ResourceAttributes,
    ss.scope.name AS ScopeName,
    ss.scope.version AS ScopeVersion,
    {m('sp.attributes')} AS SpanAttributes,
    if(sp.end_time_unix_nano > sp.start_time_unix_nano, sp.end_time_unix_nano - sp.start_time_unix_nano, 0) AS Duration,
    if(sp.status.code BETWEEN 0 AND 2, arrayElement(['Unset','Ok','Error'], sp.status.code + 1), '') AS StatusCode,
    sp.status.message AS StatusMessage,
    arrayMap(e -> {ts('e.time_unix_nano')}, sp.events) AS `Events.Timestamp`,
    arrayMap(e -> e.name, sp.events) AS `Events.Name`,
    arrayMap(e -> {m('e.attributes')}, sp.events) AS `Events.Attributes`,
    arrayMap(l -> {hex_id('l.trace_id', 16)}, sp.links) AS `Links.TraceId`,
    arrayMap(l -> {hex_id('l.span_id', 8)}, sp.links) AS `Links.SpanId`,
    arrayMap(l -> l.trace_state, sp.links) AS `Links.TraceState`,
    arrayMap(l -> {m('l.attributes')}, sp.links) AS `Links.Attributes`
FROM (
    SELECT
        rs.scope_spans AS scope_spans,
        {m('rs.resource.attributes')} AS ResourceAttributes,
        -- pdata Value.Str(): only a string-typed value counts; last occurrence wins like the Python decoder
        arrayLastOrNull(kv -> kv.key = 'service.name', rs.resource.attributes) AS _svc,
        if(_svc.value.value = 'string_value', _svc.value.string_value, '') AS ServiceName
    FROM {source}
    ARRAY JOIN resource_spans AS rs
)
ARRAY JOIN scope_spans AS ss
ARRAY JOIN ss.spans AS sp
WHERE {SPAN_OK}"""


def settings_file(schema_file: str) -> dict:
    return {"format_schema": f"{schema_file}:ExportTraceServiceRequest", "input_format_protobuf_oneof_presence": 1}


def settings_string(schema_text: str) -> dict:
    return {"format_schema_source": "string", "format_schema": schema_text,
            "format_schema_message_name": "ExportTraceServiceRequest", "input_format_protobuf_oneof_presence": 1}


def sql_literal(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def file_source(path: str) -> str:
    return f"file({sql_literal(path)}, 'Protobuf', {sql_literal(STRUCTURE)})"


def insert_from_file(table: str, path: str, dedupe: bool = True) -> str:
    return f"INSERT INTO {table} ({COLUMNS})\n{transform(file_source(path), dedupe)}"


def staging_ddl(db: str, target: str, dedupe: bool = True) -> list[str]:
    """Null-engine request table + MV into the exporter table: the server-friendly shape (body in, rows out)."""
    return [
        f"CREATE TABLE IF NOT EXISTS {db}.otlp_trace_requests ({STRUCTURE}) ENGINE = Null",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.otlp_trace_requests_mv TO {db}.{target} ({COLUMNS_TYPED}) AS\n"
        f"{transform(f'{db}.otlp_trace_requests', dedupe)}",
    ]


TRACES_DDL = """CREATE TABLE IF NOT EXISTS {name} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (Timestamp DateTime64(9), Name LowCardinality(String), Attributes Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"""

COLUMNS_TYPED = ("Timestamp DateTime64(9), TraceId String, SpanId String, ParentSpanId String, TraceState String, "
                 "SpanName String, SpanKind String, ServiceName String, ResourceAttributes Map(String, String), "
                 "ScopeName String, ScopeVersion String, SpanAttributes Map(String, String), Duration UInt64, "
                 "StatusCode String, StatusMessage String, `Events.Timestamp` Array(DateTime64(9)), "
                 "`Events.Name` Array(String), `Events.Attributes` Array(Map(String, String)), "
                 "`Links.TraceId` Array(String), `Links.SpanId` Array(String), `Links.TraceState` Array(String), "
                 "`Links.Attributes` Array(Map(String, String))")
