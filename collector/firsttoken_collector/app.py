"""`firsttoken collector`: the receivers, the ingest pipeline and ClickHouse, started and stopped in the right order.

Start: lock the data directory (one collector per write-ahead log), open ClickHouse and apply migrations, replay the
log, then open the ports. Stop (SIGTERM/SIGINT): refuse new data (503, clients retry elsewhere or later), stop the
receivers, flush what is pending to ClickHouse within the grace period, and leave the rest in the log for the next
start. Nothing acknowledged is lost on either path, nor on SIGKILL (the log is replayed with deduplication tokens).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from firsttoken_collector.config import CollectorConfig, CollectorConfigError
from firsttoken_collector.otlp.decode import decode_protobuf
from firsttoken_collector.otlp.decoder_pool import DecoderPool
from firsttoken_collector.pipeline.ingest import IngestPipeline
from firsttoken_collector.query_api import RUNTIME_FILE, QueryHandler, write_runtime_file
from firsttoken_collector.selfmetrics import SelfMetrics
from firsttoken_collector.selfreport import SelfReporter
from firsttoken_collector.storage import ClickHouseWriter

log = logging.getLogger("firsttoken.collector")


class DataDirLocked(CollectorConfigError):
    pass


def _lock_data_dir(data_dir: Path) -> int:
    fd = os.open(data_dir / "collector.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirLocked(
            f"FIRSTTOKEN_DATA_DIR: {data_dir} is in use by another collector (each collector needs its own data "
            "directory: it holds that collector's write-ahead log)"
        ) from None
    return fd


class Collector:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.metrics = SelfMetrics()
        self._lock_fd = -1
        self._store: ClickHouseWriter | None = None
        self.pipeline: IngestPipeline | None = None
        self._http: Any = None
        self._grpc: Any = None
        self._decoders: DecoderPool | None = None
        self.self_reporter: SelfReporter | None = None
        self._stopped = threading.Event()

    @property
    def http_port(self) -> int:
        return int(self._http.port) if self._http is not None else 0

    @property
    def grpc_port(self) -> int:
        return int(self._grpc.port) if self._grpc is not None else 0

    def start(self) -> None:
        from firsttoken_collector.receivers.grpc import OtlpGrpcServer
        from firsttoken_collector.receivers.http import OtlpHttpServer

        config = self.config
        self._lock_fd = _lock_data_dir(config.data_dir)
        try:
            database = config.clickhouse.database
            self._store = ClickHouseWriter(config.clickhouse, database=database)
            if config.migrate_on_start:
                from firsttoken_collector.schema import apply_retention, migrate

                applied = migrate(self._store.client(), database=database, ttl_days=config.ttl_days)
                if applied:
                    log.info("applied schema migrations %s", ", ".join(applied))
                if config.ttl_days is not None:  # only a configured retention changes an existing database
                    apply_retention(self._store.client(), database=database, ttl_days=config.ttl_days)
            self.pipeline = IngestPipeline(
                wal_dir=config.wal_dir,
                store=self._store,
                decode=decode_protobuf,
                metrics=self.metrics,
                queue_max_bytes=config.queue_max_bytes,
                spill_max_bytes=config.spill_max_bytes,
                batch_rows=config.batch_rows,
                batch_delay=config.batch_delay_seconds,
                fsync=config.wal_fsync,
            )
            self.pipeline.start()
            if config.self_metrics_seconds > 0:
                self.self_reporter = SelfReporter(
                    self.metrics,
                    self.pipeline.accept,
                    decode_protobuf,
                    interval=config.self_metrics_seconds,
                    instance_id=self.pipeline.instance_id,
                    refresh=self.pipeline.report_gauges,
                )
                self.self_reporter.start()
            # shared-memory names fit macOS's 31 characters: "/ft" + 16 hex + "_" + 8 hex
            self._decoders = DecoderPool(config.decode_workers, shm_prefix=f"ft{self.pipeline.instance_id}_")
            self._http = OtlpHttpServer(
                self.pipeline,
                self.metrics,
                host=config.host,
                port=config.http_port,
                max_request_bytes=config.max_request_bytes,
                token=config.token,
                query_handler=QueryHandler(self._store, database, self.pipeline.flush),
                decode=self._decoders.decode,
            )
            self._http.start()
            if config.grpc_port is not None:
                self._grpc = OtlpGrpcServer(
                    self.pipeline,
                    self.metrics,
                    host=config.host,
                    port=config.grpc_port,
                    max_request_bytes=config.max_request_bytes,
                    token=config.token,
                    decode=self._decoders.decode,
                )
                self._grpc.start()
            write_runtime_file(config, self.http_port)
        except BaseException:
            self.stop(timeout=1.0)
            raise
        log.info(
            "firsttoken collector: OTLP/HTTP on %s:%d%s -> %s",
            config.host,
            self.http_port,
            f", OTLP/gRPC on {config.host}:{self.grpc_port}" if self._grpc is not None else "",
            config.clickhouse.describe(),
        )

    def stop(self, timeout: float = 10.0) -> bool:
        """Flush for up to `timeout` seconds; True when everything acknowledged reached ClickHouse."""
        if self._stopped.is_set():
            return True
        self._stopped.set()
        drained = True
        if self.self_reporter is not None:
            self.self_reporter.stop()
        if self.pipeline is not None:
            self.pipeline.refuse_new()  # first, so requests arriving while the receivers stop get 503 and retry
        if self._grpc is not None:
            self._grpc.stop(grace=1.0)
        if self._http is not None:
            self._http.stop()
        if self._decoders is not None:
            self._decoders.close()
        if self.pipeline is not None:
            drained = self.pipeline.close(timeout)
        if self._store is not None:
            self._store.close()
        try:
            (self.config.data_dir / RUNTIME_FILE).unlink()
        except FileNotFoundError:
            pass
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        return drained

    def serve_forever(self, grace: float = 10.0) -> int:
        """Run until SIGTERM or SIGINT; returns the process exit code."""
        stop = threading.Event()

        def _on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("received %s; flushing and stopping", signal.Signals(signum).name)
            stop.set()

        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            stop.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            drained = self.stop(grace)
        return 0 if drained else 3
