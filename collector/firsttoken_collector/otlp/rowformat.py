"""How row values are written in JSONCompactEachRow for the exporter's column types.

- DateTime64(9): a quoted decimal `"<seconds>.<9-digit nanos>"` with the seconds zero-padded to 10 digits. ClickHouse
  rejects a bare integer of nanoseconds, and parses a short string such as `"1.000000000"` as a date, so padding keeps
  every value unambiguous. The type ends at 2262-04-11 (int64 nanoseconds); a later value would fail the whole insert,
  so callers reject the item instead (`timestamp_in_range`).
- Float64: JSON numbers; NaN and +/-Inf are written as `NaN`/`Infinity`/`-Infinity`, which ClickHouse reads back as
  nan/inf/-inf.
- Trace and span ids: lowercase hex, "" for an absent or all-zero id (traceutil.*IDToHexOrEmptyString).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from firsttoken_collector.otlp.decoded import RowBlock

MAX_TIMESTAMP_NS = 2**63 - 1
"""The last instant DateTime64(9) can hold."""

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)

# ensure_ascii=True measured ~20% faster than False here; ClickHouse decodes JSON unicode escapes.
_encode_row = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def timestamp(nanos: int) -> str:
    """A DateTime64(9) value for nanoseconds since the epoch (assumed within range)."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    return "%010d.%09d" % (seconds, fraction)  # noqa: UP031 - hot path: %-format is ~35% faster than an f-string


def timestamp_in_range(nanos: int) -> bool:
    return nanos <= MAX_TIMESTAMP_NS


def trace_id_hex(raw: bytes) -> str:
    return "" if raw == _ZERO_TRACE_ID else raw.hex()


def span_id_hex(raw: bytes) -> str:
    return "" if raw == _ZERO_SPAN_ID else raw.hex()


def encode_rows(rows: Sequence[Sequence[Any]]) -> RowBlock:
    """Rows (values in insert column order) as one JSONCompactEachRow block."""
    if not rows:
        return RowBlock(rows=0, data=b"")
    text = "\n".join([_encode_row(row) for row in rows])
    return RowBlock(rows=len(rows), data=(text + "\n").encode("ascii"))
