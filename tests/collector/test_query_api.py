"""Reading while the embedded collector runs (through its read-only endpoint), and after it stopped (directly)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from firsttoken_collector.app import Collector
from firsttoken_collector.config import load_config
from firsttoken_collector.query_api import RUNTIME_FILE, CollectorReader, DirectReader, QueryError, open_reader
from firsttoken_collector.synthetic import trace_request
from tests.collector.test_collector_e2e import _post


def test_readers_work_while_the_collector_runs_and_after_it_stops(tmp_path: Path) -> None:
    config = load_config(env={}, data_dir=str(tmp_path / "data"), http_port=0, grpc_port=-1)
    collector = Collector(config)
    collector.start()
    try:
        request, _ = trace_request(random.Random(1), 30, service="reader")
        assert (
            _post(
                collector.http_port,
                "/v1/traces",
                request.SerializeToString(),
                {"Content-Type": "application/x-protobuf"},
            )
            == 200
        )
        assert collector.pipeline is not None
        assert collector.pipeline.wait_idle(30)

        reader = open_reader(config)
        assert isinstance(reader, CollectorReader)  # chDB's directory is the collector's: go through it
        count = "SELECT count() AS n FROM llm_calls WHERE service_name = {s:String}"
        assert reader.query(count, {"s": "reader"}).rows == [[30]]
        # the endpoint is read-only: a write, a DDL statement or a second statement does not run
        for statement in (
            "INSERT INTO otel_traces (TraceId) VALUES ('x')",
            "DROP TABLE llm_calls",
            "SELECT 1; DROP TABLE llm_calls",
            "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        ):
            with pytest.raises(QueryError):
                reader.query(statement)
        # a value crafted as SQL is bound as a parameter: harmless
        assert reader.query(count, {"s": "reader' OR 1=1 --"}).rows == [[0]]
        assert reader.query(count, {"s": "reader"}).rows == [[30]]
    finally:
        collector.stop()

    assert not (config.data_dir / RUNTIME_FILE).exists()
    direct = open_reader(config)
    try:
        assert isinstance(direct, DirectReader)
        assert direct.query("SELECT count() FROM otel_traces").rows == [[30]]
    finally:
        direct.close()


def test_a_stale_runtime_file_is_ignored(tmp_path: Path) -> None:
    config = load_config(env={}, data_dir=str(tmp_path / "data"), http_port=0, grpc_port=-1)
    (config.data_dir / RUNTIME_FILE).write_text(json.dumps({"pid": 2**22 + 12345, "host": "127.0.0.1", "http_port": 1}))
    reader = open_reader(config)
    try:
        assert isinstance(reader, DirectReader)
    finally:
        reader.close()
