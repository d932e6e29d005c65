"""Writing a review to files a spreadsheet, a notebook and a person can use: CSV and Parquet per table, one JSON
document, one self-contained HTML report (inline SVG charts, no network needed to open it).

Files are named after the window (`firsttoken-2026-W47-models.csv`, ...) and replaced atomically, so re-running an
export for the same week (a cron retry) leaves exactly one correct set of files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firsttoken_collector.review.charts import bar_chart
from firsttoken_collector.review.figures import Review

FORMATS = ("csv", "parquet", "json", "html")


class ExportError(ValueError):
    pass


def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if not formats or unknown:
        raise ExportError(f"--format: expected a comma-separated subset of {','.join(FORMATS)}, got {text!r}")
    return formats


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stem(review: Review) -> str:
    service = "".join(c if c.isalnum() or c in "-_." else "_" for c in review.service)
    return f"firsttoken-{review.window.slug}" + (f"-{service}" if service else "")


def _csv(rows: list[dict[str, Any]], path: Path) -> None:
    columns = list(rows[0].keys()) if rows else []
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    path.write_text(buffer.getvalue())


def _parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)


def document(review: Review) -> dict[str, Any]:
    return {
        "window": {
            "label": review.window.label,
            "start": review.window.start.isoformat(),
            "end": review.window.end.isoformat(),
            "previous": review.window.previous.label,
        },
        "service": review.service or None,
        "tables": review.tables,
    }


def _html(review: Review, path: Path) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("firsttoken_collector.review", "templates"), autoescape=select_autoescape())
    models = review.tables["models"]
    labels = [f"{r['model']} ({r['service']})" for r in models]
    charts = {
        "cost": bar_chart(
            "Cost (USD)", labels, [r["cost_total_usd"] for r in models], [r["cost_total_usd_prev"] for r in models]
        ),
        "ttft": bar_chart(
            "TTFT p95 (ms)", labels, [r["ttft_p95_ms"] for r in models], [r["ttft_p95_ms_prev"] for r in models]
        ),
        "cache": bar_chart(
            "Cache hit rate (requests)",
            labels,
            [r["cache_hit_rate"] for r in models],
            [r["cache_hit_rate_prev"] for r in models],
            percent=True,
        ),
    }
    tools = review.tables["tools"]
    charts["tools"] = bar_chart(
        "Tool success rate",
        [r["tool_name"] for r in tools],
        [r["success_rate"] for r in tools],
        [r["success_rate_prev"] for r in tools],
        percent=True,
    )
    html = env.get_template("weekly.html.j2").render(review=review, charts=charts, doc=document(review))
    path.write_text(html)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text)


def write(review: Review, out_dir: Path, formats: tuple[str, ...]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _stem(review)
    written: list[Path] = []
    for fmt in formats:
        if fmt in ("csv", "parquet"):
            for name, rows in review.tables.items():
                path = out_dir / f"{stem}-{name}.{fmt}"
                writer = _csv if fmt == "csv" else _parquet
                _atomic_write(path, lambda tmp, rows=rows, writer=writer: writer(rows, tmp))  # type: ignore[misc]
                written.append(path)
        elif fmt == "json":
            path = out_dir / f"{stem}.json"
            body = json.dumps(document(review), indent=2, default=str)
            _atomic_write(path, lambda tmp, body=body: _write_text(tmp, body))  # type: ignore[misc]
            written.append(path)
        else:
            path = out_dir / f"{stem}.html"
            _atomic_write(path, lambda tmp: _html(review, tmp))
            written.append(path)
    return written
