"""Read a decoded RowBlock back as rows, in the values the JSONCompactEachRow path writes, whatever its format.

Tests assert on exporter-format values (`"1700000000.123456789"` timestamps, maps as dicts); spans are encoded as
Arrow, metrics and logs as JSON, and this gives both the same shape.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from firsttoken_collector.otlp.decoded import ARROW_STREAM, RowBlock
from firsttoken_collector.otlp.rowformat import timestamp


def _value(value: Any, kind: pa.DataType) -> Any:
    if pa.types.is_timestamp(kind):
        return timestamp(value)
    if pa.types.is_map(kind):
        return dict(value)
    if pa.types.is_list(kind):
        return [_value(item, kind.value_type) for item in value]
    return value


def block_rows(block: RowBlock) -> list[list[Any]]:
    data = block.data if isinstance(block.data, bytes) else b"".join(block.data)  # a joined batch comes in pieces
    if block.fmt != ARROW_STREAM:
        return [json.loads(line) for line in data.decode().splitlines()]
    table = pa.ipc.open_stream(data).read_all()
    # Timestamps as epoch nanoseconds (to_pylist would round them to microsecond datetimes).
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_timestamp(kind):
            column = column.cast(pa.int64())
        elif pa.types.is_list(kind) and pa.types.is_timestamp(kind.value_type):
            column = column.cast(pa.list_(pa.int64()))
        columns.append([_value(value, kind) for value in column.to_pylist()])
    assert len(table) == block.rows
    return [list(row) for row in zip(*columns, strict=True)]
