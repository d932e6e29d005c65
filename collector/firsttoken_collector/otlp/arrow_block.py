"""`otel_traces` rows as an Arrow IPC stream (ClickHouse's `ArrowStream` input format).

Why Arrow for spans: ClickHouse reads a column of Arrow strings and offsets almost as fast as it can copy it, while
JSONCompactEachRow has to be tokenised value by value. For LLM spans (~30 attributes each) that was ~20 of the ~35
microseconds ClickHouse spent per `otel_traces` row before any view ran, and building the columns in Python costs no
more than encoding JSON did. Metrics and logs, a small share of the rows, stay JSONCompactEachRow.

Values are those the JSON path wrote (tables.TRACE_COLUMNS): DateTime64(9) as Arrow nanosecond timestamps (no time
zone: ClickHouse reads the epoch value), maps as Arrow maps in attribute order (a repeated key was already resolved
to its last value by the decoder), nested columns as lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from firsttoken_collector.otlp.decoded import ARROW_STREAM, RowBlock
from firsttoken_collector.tables import TRACE_COLUMNS

_STRING = pa.string()
_MAP = pa.map_(pa.string(), pa.string())
_TIMESTAMP = pa.timestamp("ns")

TRACE_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field(name, kind, nullable=False)
        for name, kind in zip(
            TRACE_COLUMNS,
            (
                _TIMESTAMP,
                _STRING,
                _STRING,
                _STRING,
                _STRING,
                _STRING,
                _STRING,
                _STRING,
                _MAP,
                _STRING,
                _STRING,
                _MAP,
                pa.uint64(),
                _STRING,
                _STRING,
                pa.list_(_TIMESTAMP),
                pa.list_(_STRING),
                pa.list_(_MAP),
                pa.list_(_STRING),
                pa.list_(_STRING),
                pa.list_(_STRING),
                pa.list_(_MAP),
            ),
            strict=True,
        )
    ]
)


class MapColumn:
    """A Map(String, String) column built as flat keys and values plus one offset per row."""

    __slots__ = ("keys", "offsets", "values")

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.keys: list[str] = []
        self.values: list[str] = []

    def append(self, mapping: dict[str, str]) -> None:
        self.keys.extend(mapping)
        self.values.extend(mapping.values())
        self.offsets.append(len(self.keys))

    def array(self) -> pa.Array:
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()), pa.array(self.keys, _STRING), pa.array(self.values, _STRING)
        )


class ListColumn:
    """An Array(...) column of a nested field: flat items plus one offset per row."""

    __slots__ = ("items", "offsets")

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.items: list[object] = []

    def array(self, item_type: pa.DataType) -> pa.Array:
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), pa.array(self.items, item_type))


class ListOfMapsColumn:
    """An Array(Map(String, String)) column (event and link attributes)."""

    __slots__ = ("maps", "offsets")

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.maps = MapColumn()

    def array(self) -> pa.Array:
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), self.maps.array())


def stream_bytes(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]


def trace_block(arrays: Sequence[pa.Array], rows: int) -> RowBlock:
    """One request's spans as a RowBlock (`arrays` in TRACE_COLUMNS order)."""
    return RowBlock(
        rows=rows, data=stream_bytes(pa.RecordBatch.from_arrays(list(arrays), schema=TRACE_SCHEMA)), fmt=ARROW_STREAM
    )


_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # Arrow IPC: continuation marker, zero-length message


def _schema_message() -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, TRACE_SCHEMA):
        pass
    stream: bytes = sink.getvalue().to_pybytes()
    assert stream.endswith(_END_OF_STREAM)
    return stream[: -len(_END_OF_STREAM)]


_SCHEMA_MESSAGE = _schema_message()


def stream_pieces(parts: Sequence[bytes]) -> tuple[bytes, ...]:
    """Several requests' Arrow streams as the pieces of one stream, for one INSERT, written one after another.

    Why not re-encode: every request's stream here is the same schema message, its record batch, and the
    end-of-stream marker, so one stream of them all is the schema once, each batch as it is, and one marker. That
    costs one slice per request instead of reading every stream and writing the whole batch again (~1-6 us a span
    with the copies and fresh pages of a ~120 MB buffer). A part that is not in that shape is re-encoded by Arrow.
    """
    if len(parts) == 1:
        return (parts[0],)
    skip, end = len(_SCHEMA_MESSAGE), len(_END_OF_STREAM)
    if not all(part.startswith(_SCHEMA_MESSAGE) and part.endswith(_END_OF_STREAM) for part in parts):
        return (concat_streams(parts),)
    return (parts[0][:-end], *(part[skip:-end] for part in parts[1:]), _END_OF_STREAM)


def concat_streams(parts: Sequence[bytes]) -> bytes:
    """Several Arrow streams of the same schema as one stream, re-encoded by Arrow (buffers are copied once)."""
    if len(parts) == 1:
        return parts[0]
    batches: list[pa.RecordBatch] = []
    schema: pa.Schema | None = None
    for part in parts:
        reader = pa.ipc.open_stream(part)
        schema = schema or reader.schema
        batches.extend(reader)
    assert schema is not None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]
