"""Span rows in the exporter's own value formats, shared by the schema tests (holds no tests itself)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from firsttoken_collector.tables import TRACE_COLUMNS

DB = "firsttoken"
_ids = itertools.count(1)


def span(
    attributes: dict[str, str],
    *,
    name: str = "chat claude-haiku-4-5",
    kind: str = "Client",
    scope: str = "firsttoken",
    service: str = "svc",
    status: str = "Unset",
    duration_ns: int = 1_500_000_000,
    timestamp_ns: int | None = None,
    trace_id: str | None = None,
) -> list[Any]:
    """One otel_traces row in TRACE_COLUMNS order; every attribute value a string, as the exporter writes them."""
    number = next(_ids)
    return [
        timestamp_ns if timestamp_ns is not None else time.time_ns(),
        trace_id or f"{number:032x}",
        f"{number:016x}",
        "",
        "",
        name,
        kind,
        service,
        {"service.name": service},
        scope,
        "1.0",
        attributes,
        duration_ns,
        status,
        "",
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    ]


def insert_spans(client: Any, rows: list[list[Any]], settings: dict[str, Any] | None = None) -> None:
    """Insert into otel_traces as the collector does (named columns)."""
    client.insert("otel_traces", rows, column_names=TRACE_COLUMNS, database=DB, settings=settings or {})


def query(client: Any, sql: str) -> list[dict[str, Any]]:
    """Rows as dicts."""
    result = client.query(sql)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
