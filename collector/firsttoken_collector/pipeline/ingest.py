"""The receivers' sink: admission control, the write-ahead log, the pending buffer and the batch writer, wired.

Admission, in order (each answer is what an OTLP exporter understands as "back off and retry"):
- shutting down -> 503;
- the spill (write-ahead log on disk) would exceed its limit -> 503: ClickHouse has been away too long;
- ClickHouse is healthy but the in-memory queue is full -> 429: the collector is simply behind, clients slow down;
- ClickHouse is down and memory is full -> accepted into the spill only (the writer re-reads it from disk later).
An accepted request is acknowledged only after its write-ahead-log append is durable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from firsttoken_collector.otlp.decoded import Decoded
from firsttoken_collector.pipeline.batch_writer import BatchWriter, Decoder
from firsttoken_collector.pipeline.buffer import Entry, PendingBuffer
from firsttoken_collector.pipeline.sink import Backpressure
from firsttoken_collector.pipeline.wal import WriteAheadLog
from firsttoken_collector.selfmetrics import SelfMetrics
from firsttoken_collector.storage import ClickHouseWriter

log = logging.getLogger("firsttoken.collector")

RETRY_AFTER_BEHIND = 1.0
RETRY_AFTER_DOWN = 5.0


class IngestPipeline:
    def __init__(
        self,
        *,
        wal_dir: Path,
        store: ClickHouseWriter,
        decode: Decoder,
        metrics: SelfMetrics,
        queue_max_bytes: int,
        spill_max_bytes: int,
        batch_rows: int,
        batch_delay: float,
        fsync: bool = True,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self._wal = WriteAheadLog(wal_dir, fsync=fsync)
        self._buffer = PendingBuffer(queue_max_bytes)
        self._spill_max = spill_max_bytes
        self._metrics = metrics
        self._closing = False
        self._append_lock = threading.Lock()
        self._writer = BatchWriter(
            wal=self._wal,
            buffer=self._buffer,
            store=store,
            decode=decode,
            metrics=metrics,
            quarantine_dir=wal_dir.parent / "quarantine",
            batch_rows=batch_rows,
            batch_delay=batch_delay,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        self.recovered = self._requeue_recovered()

    def _requeue_recovered(self) -> int:
        """Requests acknowledged before a restart but not yet in ClickHouse: queue them (from disk) first."""
        now = time.monotonic()
        with self._buffer.cond:
            for record in self._wal.recovered:
                self._buffer.add(Entry(record, None, rows=0, memory=0, accepted_at=now, durable=True))
        if self._wal.recovered:
            log.info("replaying %d acknowledged requests from the write-ahead log", len(self._wal.recovered))
        return len(self._wal.recovered)

    def start(self) -> None:
        self._writer.start()

    # ---- Sink ------------------------------------------------------------------------------------------------
    def precheck(self, body_bytes: int) -> None:
        with self._buffer.cond:
            if self._closing:
                raise Backpressure(503, RETRY_AFTER_DOWN, "the collector is shutting down", "shutting_down")
            if self._wal.disk_bytes() >= self._spill_max:
                raise Backpressure(503, RETRY_AFTER_DOWN, f"spill full: {self._writer.last_error}", "spill_full")
            if self._writer.healthy and not self._buffer.has_room(body_bytes):  # rows take at least the body's size
                raise Backpressure(429, RETRY_AFTER_BEHIND, "the collector is behind; queue full", "queue_full")

    def accept(self, decoded: Decoded, payload: bytes) -> None:
        if decoded.rows == 0:
            return  # nothing storable (an empty request, or every item rejected): nothing to make durable
        memory = sum(len(block.data) for block in decoded.blocks.values())
        with self._buffer.cond:
            if self._closing:
                raise Backpressure(503, RETRY_AFTER_DOWN, "the collector is shutting down", "shutting_down")
            if self._wal.disk_bytes() + len(payload) > self._spill_max:
                raise Backpressure(
                    503,
                    RETRY_AFTER_DOWN,
                    f"spill full ({self._spill_max} bytes): {self._writer.last_error}",
                    "spill_full",
                )
            keep_in_memory = self._buffer.has_room(memory)
            if not keep_in_memory and self._writer.healthy:
                raise Backpressure(429, RETRY_AFTER_BEHIND, "the collector is behind; queue full", "queue_full")
            record, mark = self._wal.write(decoded.signal, payload)
            entry = Entry(
                record,
                decoded if keep_in_memory else None,
                rows=decoded.rows,
                memory=memory if keep_in_memory else 0,
                accepted_at=time.monotonic(),
            )
            self._buffer.add(entry)
        try:
            self._wal.sync(mark)
        finally:
            # Durable or not, the entry is in the log file now; on a sync failure the client gets an error and
            # retries, and the writer may still insert this copy (at-least-once for unacknowledged requests).
            self._buffer.mark_durable(entry)
        self._metrics.set("firsttoken_collector_queue_depth_rows", self._buffer.rows)
        self._metrics.set("firsttoken_collector_queue_bytes", self._buffer.memory)

    def ready(self) -> bool:
        """Not ready while shutting down, or while ClickHouse is down and the spill is 90% full: a load balancer
        should send new data to a replica that can still take it."""
        return not self._closing and (self._writer.healthy or self._wal.disk_bytes() < 0.9 * self._spill_max)

    # ---- state ---------------------------------------------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        return self._writer.healthy

    @property
    def pending_rows(self) -> int:
        return self._buffer.rows

    @property
    def pending_requests(self) -> int:
        return len(self._buffer)

    @property
    def instance_id(self) -> str:
        """This data directory's collector id (kept across restarts), for telling replicas apart."""
        return self._wal.instance_id

    def report_gauges(self) -> None:
        """Bring the queue and spill gauges up to date now (they are otherwise set as requests come and go)."""
        self._writer.report_queue()

    def spill_bytes(self) -> int:
        return self._wal.disk_bytes()

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything accepted is in ClickHouse (tests, the demo before its summary); what is pending is
        inserted now rather than at the batch delay."""
        deadline = time.monotonic() + timeout
        self._writer.flush_pending()
        return self._wait_until(lambda: not len(self._buffer), deadline)

    def flush(self, timeout: float) -> int:
        """Insert every request acknowledged so far now, rather than at the batch delay, and wait up to `timeout`
        for them to be in ClickHouse, so that a report run right after a burst shows it. Requests acknowledged
        meanwhile are not waited for (under steady load there always are some). Returns how many of those
        acknowledged before the call are still not in ClickHouse (0: all are; more: ClickHouse is slow or down)."""
        deadline = time.monotonic() + timeout
        with self._buffer.cond:
            target = self._buffer.last_seq()
        if target is None:
            return 0
        self._writer.flush_through(target)

        def written() -> bool:
            first = self._buffer.first_seq()
            return first is None or first > target

        if self._wait_until(written, deadline):
            return 0
        with self._buffer.cond:
            return self._buffer.count_through(target)

    def _wait_until(self, done: Callable[[], bool], deadline: float) -> bool:
        """Wait on the buffer until `done()` (checked under its lock) or the deadline; whether it came true."""
        with self._buffer.cond:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._buffer.cond.wait(min(remaining, 0.1))
        return True

    def refuse_new(self) -> None:
        """From now on every request is answered 503 (clients retry elsewhere or later); pending data still flushes."""
        with self._buffer.cond:
            self._closing = True

    def close(self, timeout: float = 10.0) -> bool:
        """Stop accepting, flush for up to `timeout`, close the log. True when everything reached ClickHouse."""
        self.refuse_new()
        drained = self._writer.stop(timeout)
        self._wal.close()
        if not drained:
            log.warning(
                "shut down with %d requests not yet in ClickHouse; they are replayed at the next start",
                len(self._buffer),
            )
        return drained
