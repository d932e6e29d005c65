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


def test_a_report_sees_what_the_collector_acknowledged_before_it_started(tmp_path: Path) -> None:
    """Inserts wait for the batch delay (60 s here); the reader's first query makes the collector insert first."""
    config = load_config(
        env={"FIRSTTOKEN_BATCH_DELAY_SECONDS": "60"}, data_dir=str(tmp_path / "data"), http_port=0, grpc_port=-1
    )
    collector = Collector(config)
    collector.start()
    try:
        request, _ = trace_request(random.Random(2), 40, service="fresh")
        body = request.SerializeToString()
        assert _post(collector.http_port, "/v1/traces", body, {"Content-Type": "application/x-protobuf"}) == 200
        count = "SELECT count() FROM llm_calls WHERE service_name = 'fresh'"
        reader = open_reader(config)
        assert isinstance(reader, CollectorReader)
        stale = CollectorReader(reader._url, None, fresh=False)
        assert stale.query(count).rows == [[0]]  # acknowledged, held for the batch delay
        assert reader.query(count).rows == [[40]]  # the first query of a reader waits for it
        assert stale.query(count).rows == [[40]]
    finally:
        collector.stop()


def test_a_fresh_read_that_cannot_include_everything_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """ClickHouse too slow or down for the flush: the answer still comes, and the reader warns what it lacks."""
    from firsttoken_collector.config import ClickHouseTarget
    from firsttoken_collector.query_api import QueryHandler
    from firsttoken_collector.receivers.http import OtlpHttpServer
    from firsttoken_collector.selfmetrics import SelfMetrics
    from firsttoken_collector.storage import ClickHouseWriter
    from tests.collector.test_receiver_http import FakeSink

    flushes: list[float] = []

    def flush(timeout: float) -> int:
        flushes.append(timeout)
        return 3

    store = ClickHouseWriter(ClickHouseTarget(embedded_path=tmp_path / "clickhouse"), database="default")
    server = OtlpHttpServer(FakeSink(), SelfMetrics(), port=0, query_handler=QueryHandler(store, "default", flush))
    server.start()
    try:
        reader = CollectorReader(f"http://127.0.0.1:{server.port}/v1/query", None)
        assert reader.query("SELECT 1 AS one").rows == [[1]]
        assert "3 requests the collector acknowledged are not in ClickHouse yet" in caplog.text
        assert reader.query("SELECT 2 AS two").rows == [[2]]
        assert len(flushes) == 1  # only a reader's first query waits
    finally:
        server.stop()
        store.close()


def test_a_stale_runtime_file_is_ignored(tmp_path: Path) -> None:
    config = load_config(env={}, data_dir=str(tmp_path / "data"), http_port=0, grpc_port=-1)
    (config.data_dir / RUNTIME_FILE).write_text(json.dumps({"pid": 2**22 + 12345, "host": "127.0.0.1", "http_port": 1}))
    reader = open_reader(config)
    try:
        assert isinstance(reader, DirectReader)
    finally:
        reader.close()
