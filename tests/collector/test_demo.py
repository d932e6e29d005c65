"""`firsttoken demo`: the whole pipeline from a fresh data directory, repeatable with --seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from firsttoken_collector.config import load_config
from firsttoken_collector.query_api import open_reader

ROOT = Path(__file__).resolve().parents[2]


def _demo(data_dir: Path) -> tuple[str, dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "firsttoken_collector.cli",
            "demo",
            "--seed",
            "3",
            "--scale",
            "0.25",
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    reader = open_reader(load_config(env={}, data_dir=str(data_dir)))
    try:
        facts = {
            "calls": reader.query(
                "SELECT service_name, provider, model, count(), countIf(is_error), countIf(throttled),"
                " countIf(structured_valid), countIf(structured_valid = false)"
                " FROM llm_calls GROUP BY ALL ORDER BY ALL"
            ).rows,
            "tools": reader.query("SELECT tool_name, count(), countIf(success) FROM tool_calls GROUP BY ALL").rows,
            "tasks": reader.query(
                "SELECT task_name, count(), countIf(status = 'completed'), sum(llm_calls) FROM tasks GROUP BY ALL"
                " ORDER BY ALL"
            ).rows,
            "spans_vs_calls": reader.query(
                "SELECT (SELECT count() FROM otel_traces WHERE SpanKind = 'Client'), (SELECT count() FROM llm_calls)"
            ).rows,
        }
    finally:
        reader.close()
    return done.stdout, facts


@pytest.mark.slow
def test_demo_runs_end_to_end_and_is_repeatable_with_a_seed(tmp_path: Path) -> None:
    output, first = _demo(tmp_path / "one")
    for heading in ("LLM calls, last 1 h", "Tools", "Tasks", "went through instrument()"):
        assert heading in output
    services = {row[0] for row in first["calls"]}
    assert services == {"voice-agent", "classifier", "planner"}
    models = {(row[1], row[2]) for row in first["calls"]}
    assert models == {("anthropic", "claude-haiku-4-5"), ("openai", "gpt-5-mini")}
    assert sum(row[5] for row in first["calls"]) > 0, "some calls were throttled and retried"
    assert sum(row[7] for row in first["calls"]) > 0, "some structured outputs violated their schema"
    ((client_spans, llm_calls),) = first["spans_vs_calls"]
    assert client_spans == llm_calls, "one LLM span per call, each in llm_calls"
    exported = sorted(path.name for path in (tmp_path / "one" / "export").iterdir())
    assert {path.rsplit(".", 1)[-1] for path in exported} >= {"csv", "parquet", "json", "html"}, exported
    for name in exported:
        assert str(tmp_path / "one" / "export" / name) in output.replace("\n", ""), "the demo names what it wrote"
    (review_json,) = (tmp_path / "one" / "export").glob("*.json")
    review = json.loads(review_json.read_text())
    models = review["tables"]["models"]
    assert models, "this week's review holds the demo's calls"
    assert sum(int(row["calls"]) for row in models) == sum(row[3] for row in first["calls"])
    report = subprocess.run(  # the same numbers afterwards, for on-call without Grafana
        [
            sys.executable,
            "-m",
            "firsttoken_collector.cli",
            "report",
            "--data-dir",
            str(tmp_path / "one"),
            "--since",
            "1h",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    assert "anthropic/claude-haiku-4-5" in report.stdout
    assert "plan_trip" in report.stdout
    _, second = _demo(tmp_path / "two")
    assert second == first
