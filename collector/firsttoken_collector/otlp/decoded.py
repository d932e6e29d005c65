"""What a decoded OTLP request is, for the pipeline: encoded row blocks per table, plus partial-success counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Signal = Literal["traces", "metrics", "logs"]
JSON_COMPACT = "JSONCompactEachRow"
ARROW_STREAM = "ArrowStream"
SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")


class MalformedRequest(ValueError):
    """The request body cannot be decoded at all (answered 400 / INVALID_ARGUMENT, never retried by clients)."""


@dataclass(frozen=True, slots=True)
class RowBlock:
    """Rows for one table, already encoded for ClickHouse in the input format `fmt`.

    JSONCompactEachRow (metrics, logs): one JSON array per row, newline-terminated, values in the order of
    `tables.INSERT_COLUMNS[table]`. ArrowStream (spans, `arrow_block`): one Arrow IPC stream, columns named as in
    `tables.INSERT_COLUMNS[table]`. Encoding at decode time lets decoding run in worker processes that hand back plain
    bytes, and keeps the writer's batch assembly a concatenation.
    """

    rows: int
    data: bytes | tuple[bytes, ...]  # a batch's block: its requests' pieces, sent one after another (`join_blocks`)
    fmt: str = JSON_COMPACT


@dataclass(frozen=True, slots=True)
class Decoded:
    """One OTLP request, decoded. `accepted`/`rejected` count items (spans, data points, log records)."""

    signal: Signal
    blocks: dict[str, RowBlock] = field(default_factory=dict)
    accepted: int = 0
    rejected: int = 0
    error_message: str = ""

    @property
    def rows(self) -> int:
        return sum(block.rows for block in self.blocks.values())
