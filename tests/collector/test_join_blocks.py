"""A batch's blocks are inserted as one block made of their pieces: every row once, in order, in either format."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa

from firsttoken_collector.config import ClickHouseTarget
from firsttoken_collector.otlp.arrow_block import TRACE_SCHEMA, stream_bytes
from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.otlp.decoded import ARROW_STREAM, JSON_COMPACT, RowBlock
from firsttoken_collector.pipeline.batch_writer import join_blocks
from firsttoken_collector.schema.migrate import migrate
from firsttoken_collector.storage import ClickHouseWriter
from firsttoken_collector.synthetic import trace_request
from firsttoken_collector.tables import INSERT_COLUMNS, OTEL_TRACES
from tests.collector.rowblocks import block_rows


def _span_blocks(count: int, spans: int = 40) -> list[RowBlock]:
    rng = random.Random(11)
    return [
        decode_request("traces", trace_request(rng, spans)[0].SerializeToString(), "application/x-protobuf")[0].blocks[
            OTEL_TRACES
        ]
        for _ in range(count)
    ]


def test_arrow_blocks_join_into_one_stream_of_every_row_without_reencoding() -> None:
    blocks = _span_blocks(5)
    joined = join_blocks(blocks)
    assert joined.fmt == ARROW_STREAM
    assert joined.rows == 200
    assert isinstance(joined.data, tuple)
    assert len(joined.data) == 6
    assert block_rows(joined) == [row for block in blocks for row in block_rows(block)]


def test_a_stream_of_another_shape_is_reencoded_by_arrow() -> None:
    blocks = _span_blocks(2)
    table = pa.ipc.open_stream(blocks[1].data).read_all()
    other = table.replace_schema_metadata({"written": "elsewhere"}).to_batches()[0]  # another schema message
    odd = RowBlock(rows=table.num_rows, data=stream_bytes(other), fmt=ARROW_STREAM)
    joined = join_blocks([blocks[0], odd])
    assert isinstance(joined.data, tuple)
    assert len(joined.data) == 1
    assert block_rows(joined) == block_rows(blocks[0]) + block_rows(odd)
    assert pa.ipc.open_stream(joined.data[0]).schema.equals(TRACE_SCHEMA)


def test_json_blocks_join_as_their_lines() -> None:
    lines = [RowBlock(rows=1, data=b'["a",1]\n'), RowBlock(rows=2, data=b'["b",2]\n["c",3]\n')]
    joined = join_blocks(lines)
    assert (joined.fmt, joined.rows, joined.data) == (JSON_COMPACT, 3, (b'["a",1]\n', b'["b",2]\n["c",3]\n'))
    assert block_rows(joined) == [["a", 1], ["b", 2], ["c", 3]]


def test_a_joined_batch_inserts_every_row_once_and_a_retry_is_deduplicated(tmp_path: Path) -> None:
    store = ClickHouseWriter(ClickHouseTarget(embedded_path=tmp_path / "clickhouse"), database="firsttoken")
    try:
        migrate(store.client(), database="firsttoken")
        blocks = _span_blocks(6)
        joined = join_blocks(blocks)
        for _ in range(2):  # the writer's retry: the same pieces and token, streamed anew
            store.insert(OTEL_TRACES, INSERT_COLUMNS[OTEL_TRACES], joined.data, "batch-1", fmt=joined.fmt)
        query = (
            "SELECT count(), uniqExact(SpanId), (SELECT count() FROM firsttoken.llm_calls) FROM firsttoken.otel_traces"
        )
        count, distinct, llm = store.client().query(query).result_rows[0]
        assert (count, distinct, llm) == (240, 240, 240)
    finally:
        store.close()
