"""Spans firsttoken did not write land in `llm_calls` too, with the right tokens and a cost computed from them:
the Anthropic SDK's own tracing, and OpenLLMetry's instrumentations, each exporting OTLP to the collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from genai_prices import Usage, calc_price

from firsttoken.testing import FakeProviderServer
from firsttoken_collector.app import Collector
from firsttoken_collector.config import load_config
from firsttoken_collector.query_api import open_reader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    config = load_config(env={}, data_dir=str(tmp_path / "data"), http_port=0, grpc_port=-1)
    object.__setattr__(config, "batch_delay_seconds", 0.05)
    running = Collector(config)
    running.start()
    try:
        yield running
    finally:
        running.stop(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(
            "native",
            marks=pytest.mark.skipif(
                int(anthropic.__version__.split(".")[0]) < 2, reason="the Anthropic SDK traces itself from 2.x"
            ),
        ),
        "openllmetry",
    ],
)
def test_peer_spans_land_in_llm_calls_with_tokens_and_cost(
    collector: Collector, fake: FakeProviderServer, mode: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ANTHROPIC_OPEN"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.collector.peer_workload",
            mode,
            fake.url,
            f"http://127.0.0.1:{collector.http_port}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    calls = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert collector.pipeline is not None
    assert collector.pipeline.wait_idle(30)

    rows = (
        open_reader(collector.config)
        .query(
            "SELECT provider, request_model, scope_name, input_tokens, output_tokens, cache_read_tokens,"
            " cache_write_tokens, cost_usd, cost_source, priced FROM llm_calls WHERE service_name = {s:String}"
            " ORDER BY timestamp",
            {"s": f"peer-{mode}"},
        )
        .dicts()
    )
    assert len(rows) == len(calls), rows
    assert any(c["cache_read"] > 0 for c in calls), "the workload exercises the prompt cache"
    for call, row in zip(calls, rows, strict=True):
        total_input = call["input_uncached"] + call["cache_read"] + call["cache_write"]
        assert row["provider"] == call["provider"]
        assert row["request_model"] == call["model"]
        assert row["scope_name"] != "firsttoken"
        assert (row["input_tokens"], row["output_tokens"]) == (total_input, call["output"]), (mode, row)
        assert row["cache_read_tokens"] == call["cache_read"]
        if call["provider"] == "anthropic":
            assert row["cache_write_tokens"] == call["cache_write"]
        usage = Usage(
            input_tokens=total_input,
            cache_read_tokens=call["cache_read"],
            cache_write_tokens=call["cache_write"],
            output_tokens=call["output"],
        )
        want = float(calc_price(usage, model_ref=call["model"], provider_id=call["provider"]).total_price)
        assert row["priced"]
        assert row["cost_source"] == "computed"
        assert row["cost_usd"] == pytest.approx(want, rel=1e-9, abs=1e-12), (mode, call, row)
