"""`firsttoken export`: the weekly figures equal what Python computes from the very spans that were sent.

Two weeks of traffic are made from a real fake-provider workload: the spans the instrumented SDKs produced are
re-sent over OTLP with their timestamps moved into the week before last (twice) and last week (three times, one
copy under a second service), each copy with fresh ids. The expected figures are computed here from those span
dicts, with the same definitions the export documents (exact quantiles, NULL for unknown, cost over priced calls).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from firsttoken.testing import FakeProviderServer
from firsttoken_collector.app import Collector
from firsttoken_collector.cli import main
from firsttoken_collector.config import load_config
from firsttoken_collector.review.weeks import last_complete_week
from tests.collector.test_collector_e2e import _post, _run_workload

# The two last complete weeks, whatever today is: older data would fall outside the tables' default 30-day TTL.
THIS = last_complete_week()
W41 = THIS.start
W40 = THIS.previous.start
WEEK = THIS.label
PREVIOUS_WEEK = THIS.previous.label
KINDS = {"CLIENT": Span.SPAN_KIND_CLIENT, "INTERNAL": Span.SPAN_KIND_INTERNAL}
STATUS = {"ERROR": Status.STATUS_CODE_ERROR, "OK": Status.STATUS_CODE_OK, "UNSET": Status.STATUS_CODE_UNSET}


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_value(v) for v in value]))
    return AnyValue(string_value=str(value))


def _copy(spans: list[dict[str, Any]], start: dt.datetime, rng: random.Random) -> list[dict[str, Any]]:
    """The spans again, moved so the earliest starts at `start` (+ a random offset), with fresh ids."""
    earliest = min(s["start_ns"] for s in spans)
    offset = int(start.timestamp() * 1e9) + rng.randrange(0, 3 * 86400) * 10**9 - earliest
    ids = {s["span_id"]: f"{rng.getrandbits(64):016x}" for s in spans}
    trace = f"{rng.getrandbits(128):032x}"
    return [
        {
            **s,
            "trace_id": trace,
            "span_id": ids[s["span_id"]],
            "parent_span_id": ids.get(s["parent_span_id"], ""),
            "start_ns": s["start_ns"] + offset,
            "end_ns": s["end_ns"] + offset,
        }
        for s in spans
    ]


def _request(spans: list[dict[str, Any]], service: str) -> bytes:
    built = [
        Span(
            trace_id=bytes.fromhex(s["trace_id"]),
            span_id=bytes.fromhex(s["span_id"]),
            parent_span_id=bytes.fromhex(s["parent_span_id"]) if s["parent_span_id"] else b"",
            name=s["name"],
            kind=KINDS[s["kind"]],
            start_time_unix_nano=s["start_ns"],
            end_time_unix_nano=s["end_ns"],
            attributes=[KeyValue(key=k, value=_value(v)) for k, v in s["attributes"].items()],
            status=Status(code=STATUS[s["status"]]),
        )
        for s in spans
    ]
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))]),
                scope_spans=[ScopeSpans(scope=InstrumentationScope(name="firsttoken"), spans=built)],
            )
        ]
    )
    return request.SerializeToString()


# ---- the figures, computed independently -----------------------------------------------------------------------
def _q(values: list[float], level: float) -> float | None:
    """ClickHouse quantileExact: the value at index floor(level x n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(level * len(ordered)))]


def _rate(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _llm(span: dict[str, Any]) -> bool:
    return span["kind"] == "CLIENT" and span["attributes"].get("gen_ai.operation.name") in ("chat", "embeddings")


def expected_models(spans: list[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for service, span in spans:
        if _llm(span):
            a = span["attributes"]
            groups.setdefault((service, a["gen_ai.provider.name"], a["gen_ai.request.model"]), []).append(span)
    out = {}
    for key, group in groups.items():
        attrs = [s["attributes"] for s in group]
        errors = [s["status"] == "ERROR" for s in group]
        throttled = [
            a.get("firsttoken.throttled", False) or a.get("firsttoken.error.category") in ("rate_limit", "overloaded")
            for a in attrs
        ]
        ttft = [
            a["gen_ai.response.time_to_first_chunk"] * 1000 for a in attrs if "gen_ai.response.time_to_first_chunk" in a
        ]
        hits = [a["firsttoken.cache.hit"] for a in attrs if "firsttoken.cache.hit" in a]
        token_pairs = [
            (a["gen_ai.usage.cache_read.input_tokens"], a["gen_ai.usage.input_tokens"])
            for a in attrs
            if "gen_ai.usage.cache_read.input_tokens" in a and "gen_ai.usage.input_tokens" in a
        ]
        priced = [a["firsttoken.cost.usd"] for a in attrs if "firsttoken.cost.usd" in a]
        structured = [
            a["firsttoken.structured_output.valid"] for a in attrs if "firsttoken.structured_output.valid" in a
        ]
        tool_names = sum(len(a.get("firsttoken.tool_calls.names", [])) for a in attrs)
        out[key] = {
            "calls": len(group),
            "errors": sum(errors),
            "throttles": sum(throttled),
            "ttft_p50_ms": _q(ttft, 0.5),
            "ttft_p95_ms": _q(ttft, 0.95),
            "ttft_p99_ms": _q(ttft, 0.99),
            "duration_p95_ms": _q([(s["end_ns"] - s["start_ns"]) / 1e6 for s in group], 0.95),
            "cache_hit_rate": _rate(sum(hits), len(hits)),
            "cache_token_rate": _rate(sum(r for r, _ in token_pairs), sum(t for _, t in token_pairs)),
            "input_tokens_total": sum(a.get("gen_ai.usage.input_tokens", 0) for a in attrs),
            "output_tokens_total": sum(a.get("gen_ai.usage.output_tokens", 0) for a in attrs),
            "cost_total_usd": sum(priced) if priced else None,  # only unpriced calls: unknown, not $0
            "cost_per_call_usd": _rate(sum(priced), len(priced)),
            "unpriced_calls": sum(
                1
                for s, a in zip(group, attrs, strict=True)
                if "firsttoken.cost.usd" not in a and s["status"] != "ERROR"
            ),
            "adherence": _rate(sum(structured), len(structured)),
            "tool_args_invalid_rate": _rate(sum(a.get("firsttoken.tool_calls.invalid", 0) for a in attrs), tool_names),
        }
    return out


def expected_tools(spans: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for _, span in spans:
        if span["attributes"].get("gen_ai.operation.name") == "execute_tool":
            groups.setdefault(span["attributes"]["gen_ai.tool.name"], []).append(span)
    return {
        name: {
            "outcomes": len(group),
            "success_rate": _rate(sum(s["attributes"]["firsttoken.tool.success"] for s in group), len(group)),
            "duration_p95_ms": _q(
                [
                    (s["end_ns"] - s["start_ns"]) / 1e6
                    for s in group
                    if s["attributes"].get("firsttoken.tool.source") != "inferred"
                ],
                0.95,
            ),
        }
        for name, group in groups.items()
    }


def expected_tasks(spans: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for _, span in spans:
        if span["attributes"].get("gen_ai.operation.name") == "invoke_workflow":
            groups.setdefault(span["attributes"]["firsttoken.task.name"], []).append(span["attributes"])
    return {
        name: {
            "tasks": len(group),
            "completion_rate": _rate(sum(a["firsttoken.task.status"] == "completed" for a in group), len(group)),
            "cost_p50_usd": _q([a["firsttoken.task.cost.usd"] for a in group if "firsttoken.task.cost.usd" in a], 0.5),
            "cost_p95_usd": _q([a["firsttoken.task.cost.usd"] for a in group if "firsttoken.task.cost.usd" in a], 0.95),
        }
        for name, group in groups.items()
    }


def _same(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is want
    if not isinstance(want, (int, float)):
        return bool(got == want)
    return bool(got == pytest.approx(want, rel=1e-9, abs=1e-12))


# ---- fixtures --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_weeks(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Collector, dict[str, list[tuple[str, dict[str, Any]]]]]]:
    tmp = tmp_path_factory.mktemp("export")
    collector = Collector(load_config(env={}, data_dir=str(tmp / "data"), http_port=0, grpc_port=-1))
    collector.start()
    server = FakeProviderServer().start()
    try:
        template = _run_workload(server, f"http://127.0.0.1:{collector.http_port}", "http/protobuf", tmp / "spans.json")
        rng = random.Random(40)
        sent: dict[str, list[tuple[str, dict[str, Any]]]] = {"W40": [], "W41": []}
        plan = [
            ("W40", W40, "review-a"),
            ("W40", W40, "review-a"),
            ("W41", W41, "review-a"),
            ("W41", W41, "review-a"),
            ("W41", W41, "review-b"),
        ]
        for week, start, service in plan:
            copy = _copy(template, start, rng)
            if week == "W41" and service == "review-a":
                copy = [s for s in copy if s["status"] != "ERROR"]  # in W41 the failing calls were fixed
            assert (
                _post(
                    collector.http_port,
                    "/v1/traces",
                    _request(copy, service),
                    {"Content-Type": "application/x-protobuf"},
                )
                == 200
            )
            sent[week].extend((service, s) for s in copy)
        assert collector.pipeline is not None
        assert collector.pipeline.wait_idle(30)
        yield collector, sent
    finally:
        server.stop()
        collector.stop()


def _export(collector: Collector, out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["export", "--data-dir", str(collector.config.data_dir), "--out", str(out), *args])
    documents = list(out.glob("*.json")) if out.exists() else []
    return code, json.loads(documents[0].read_text()) if len(documents) == 1 else {}


@pytest.mark.slow
def test_weekly_figures_equal_python_from_the_same_spans(
    two_weeks: tuple[Collector, dict[str, list[tuple[str, dict[str, Any]]]]], tmp_path: Path
) -> None:
    collector, sent = two_weeks
    code, doc = _export(collector, tmp_path, "--week", WEEK, "--format", "json,csv,parquet,html")
    assert code == 0
    assert doc["window"]["label"] == WEEK
    assert doc["window"]["previous"] == PREVIOUS_WEEK

    now, before = expected_models(sent["W41"]), expected_models(sent["W40"])
    rows = {(r["service"], r["provider"], r["model"]): r for r in doc["tables"]["models"]}
    assert set(rows) == set(now) | set(before)
    for key, row in rows.items():
        for name, want in now.get(key, {}).items():
            assert _same(row[name], want), (key, name, row[name], want)
        for name, want in before.get(key, {}).items():
            assert _same(row[f"{name}_prev"], want), (key, name, row[f"{name}_prev"], want)
    assert any(r["errors_change"] for r in rows.values()), "the week-over-week change is there"

    tools = {r["tool_name"]: r for r in doc["tables"]["tools"]}
    for name, want in expected_tools(sent["W41"]).items():
        for column, value in want.items():
            assert _same(tools[name][column], value), (name, column)
    tasks = {r["task_name"]: r for r in doc["tables"]["tasks"]}
    for name, want in expected_tasks(sent["W41"]).items():
        for column, value in want.items():
            assert _same(tasks[name][column], value), (name, column)

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [f"firsttoken-{WEEK}-{t}.{f}" for t in ("models", "tools", "tasks") for f in ("csv", "parquet")]
        + [f"firsttoken-{WEEK}.json", f"firsttoken-{WEEK}.html"]
    )
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / f"firsttoken-{WEEK}-models.parquet").to_pylist()
    assert [(r["service"], r["model"], r["calls"]) for r in table] == [
        (r["service"], r["model"], r["calls"]) for r in doc["tables"]["models"]
    ]
    html = (tmp_path / f"firsttoken-{WEEK}.html").read_text()
    assert html.count("<svg") == 4
    assert WEEK in html

    # idempotent: the same week again gives the same files with the same content
    again_code, again = _export(collector, tmp_path, "--week", WEEK, "--format", "json,csv,parquet,html")
    assert again_code == 0
    diffs = [
        (name, i, column)
        for name, rows in doc["tables"].items()
        for i, row in enumerate(rows)
        for column, value in row.items()
        if not _same(again["tables"][name][i][column], value)
    ]
    assert diffs == []  # float sums may differ in the last bit (ClickHouse adds in parallel), nothing more
    assert sorted(p.name for p in tmp_path.iterdir()) == names


@pytest.mark.slow
def test_service_filter_empty_week_and_bad_input(
    two_weeks: tuple[Collector, dict[str, list[tuple[str, dict[str, Any]]]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    collector, sent = two_weeks
    code, doc = _export(collector, tmp_path / "b", "--week", WEEK, "--service", "review-b", "--format", "json")
    assert code == 0
    assert {r["service"] for r in doc["tables"]["models"]} == {"review-b"}
    assert sum(r["calls"] for r in doc["tables"]["models"]) == sum(
        1 for service, s in sent["W41"] if service == "review-b" and _llm(s)
    )
    crafted = "review-b' OR 1=1 --"
    code, doc = _export(collector, tmp_path / "c", "--week", WEEK, "--service", crafted, "--format", "json")
    assert code == 0
    assert doc["tables"]["models"] == []  # bound as a value: matches no service, breaks nothing
    capsys.readouterr()
    code, doc = _export(collector, tmp_path / "d", "--week", "2026-W30", "--format", "json,html")
    assert code == 0
    assert "no LLM calls, tool outcomes or tasks in 2026-W30" in capsys.readouterr().err
    assert doc["tables"] == {"models": [], "tools": [], "tasks": []}
    assert "No LLM calls" in (tmp_path / "d" / "firsttoken-2026-W30.html").read_text()
    for bad in ("2026-W54", "2026-47", "last week"):
        assert main(["export", "--week", bad, "--out", str(tmp_path / "e")]) == 2
        assert "--week" in capsys.readouterr().err
    assert main(["export", "--week", WEEK, "--format", "xlsx", "--out", str(tmp_path / "e")]) == 2
    assert main(["export", "--from", "2026-10-05", "--out", str(tmp_path / "e")]) == 2
    assert main(["export", "--clickhouse-url", "http://u:p@127.0.0.1:1/db", "--out", str(tmp_path / "e")]) == 4
    assert not (tmp_path / "e").exists()


def _chromium() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.slow
@pytest.mark.skipif(
    _chromium() is None and not os.environ.get("CI"),
    reason="no Chromium here (.ci/run installs Debian's; in CI this test must run)",
)
def test_html_report_renders_its_charts_in_headless_chromium(
    two_weeks: tuple[Collector, dict[str, list[tuple[str, dict[str, Any]]]]], tmp_path: Path
) -> None:
    import subprocess

    from PIL import Image

    collector, _ = two_weeks
    code, _ = _export(collector, tmp_path / "out", "--week", WEEK, "--format", "html")
    assert code == 0
    browser = _chromium()
    assert browser is not None, "CI must install Chromium (.ci/run does)"
    html = tmp_path / "out" / f"firsttoken-{WEEK}.html"
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,1600",
            f"--screenshot={shot}",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 20, "the page is not blank"
    # the charts' bars are drawn in the report's blue (#2f6fde): at least some thousand pixels of it are on screen
    blue = sum(count for count, rgb in colours if rgb == (0x2F, 0x6F, 0xDE))
    assert blue > 1000, f"only {blue} chart-bar pixels: the charts did not render"
