"""The single writer thread: takes due batches from the buffer and inserts them, one INSERT per table per batch.

One writer, in sequence order, is what makes the log's `committed` watermark a single number and a replayed batch
identical to the one that may already have landed. ClickHouse does the parallel work (chDB releases the GIL while it
parses and writes), so the receivers keep decoding on the other core meanwhile.

Failures: a connection-type error marks ClickHouse unhealthy and the same batch is retried with exponential backoff
(the same deduplication token, so a batch whose insert did land is not written twice). A data error (ClickHouse
refuses the rows themselves) is split per request; a request ClickHouse refuses on its own is moved to the
`quarantine/` directory with the error, kept rather than dropped, and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from firsttoken_collector.otlp.arrow_block import stream_pieces
from firsttoken_collector.otlp.decoded import ARROW_STREAM, Decoded, MalformedRequest, RowBlock, Signal
from firsttoken_collector.pipeline.buffer import Entry, PendingBuffer
from firsttoken_collector.pipeline.wal import WriteAheadLog
from firsttoken_collector.selfmetrics import SelfMetrics
from firsttoken_collector.storage import ClickHouseWriter, is_data_error
from firsttoken_collector.tables import INSERT_COLUMNS

log = logging.getLogger("firsttoken.collector")

Decoder = Callable[[Signal, bytes], Decoded]


def join_blocks(parts: list[RowBlock]) -> RowBlock:
    """One table's blocks of a batch as one block whose data is pieces sent one after another: JSON rows as they
    are, Arrow streams as one stream (`arrow_block.stream_pieces`). Nothing is copied into one buffer: a batch is
    ~100 MB, and the insert writes the pieces straight to ClickHouse (a file for chDB, the request body for a
    server)."""
    if len(parts) == 1:
        return parts[0]
    formats = {block.fmt for block in parts}
    if len(formats) != 1:  # one decoder version encodes a table one way; mixing would be a bug, not data
        raise ValueError(f"blocks of one table in different formats: {sorted(formats)}")
    fmt = parts[0].fmt
    rows = sum(block.rows for block in parts)
    # a request's block is one buffer; an already joined block (pieces) is first made whole again
    data = [block.data if isinstance(block.data, bytes) else b"".join(block.data) for block in parts]
    if fmt == ARROW_STREAM:
        return RowBlock(rows=rows, data=stream_pieces(data), fmt=fmt)
    return RowBlock(rows=rows, data=tuple(data), fmt=fmt)


class BatchWriter:
    def __init__(
        self,
        *,
        wal: WriteAheadLog,
        buffer: PendingBuffer,
        store: ClickHouseWriter,
        decode: Decoder,
        metrics: SelfMetrics,
        quarantine_dir: Path,
        batch_rows: int,
        batch_delay: float,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self._wal = wal
        self._buffer = buffer
        self._store = store
        self._decode = decode
        self._metrics = metrics
        self._quarantine_dir = quarantine_dir
        self._batch_rows = batch_rows
        self._batch_delay = batch_delay
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self.healthy = True
        self.last_error = ""
        self._stop = threading.Event()
        self._flush = False  # shutting down: insert whatever is pending without waiting for a full batch
        self._flush_until_empty = False  # someone waits for everything accepted so far to be in ClickHouse
        self._flush_through = -1  # entries up to this sequence number are inserted without waiting for the delay
        self._intent = wal.checkpoint.intent
        self._thread = threading.Thread(target=self._run, name="firsttoken-batch-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Flush what is pending for up to `timeout` seconds, then stop. True when nothing was left behind
        (anything left is still in the write-ahead log and is replayed at the next start)."""
        deadline = time.monotonic() + timeout
        with self._buffer.cond:
            self._flush = True
            self._buffer.cond.notify_all()
            while len(self._buffer) and time.monotonic() < deadline and self._thread.is_alive():
                self._buffer.cond.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            drained = len(self._buffer) == 0
        self._stop.set()
        with self._buffer.cond:
            self._buffer.cond.notify_all()
        self._thread.join(timeout=max(1.0, deadline - time.monotonic()))
        return drained

    def flush_pending(self) -> None:
        """Insert what is pending now instead of at the batch delay, until the queue is empty (`wait_idle`: the
        demo before its summary, tests)."""
        with self._buffer.cond:
            self._flush_until_empty = True
            self._buffer.cond.notify_all()

    def flush_through(self, seq: int) -> None:
        """Insert the entries up to `seq` now instead of at the batch delay (a reader wants what was acknowledged)."""
        with self._buffer.cond:
            self._flush_through = max(self._flush_through, seq)
            self._buffer.cond.notify_all()

    # ---- the loop --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch:
                self._write(batch)

    def _next_batch(self) -> list[Entry]:
        with self._buffer.cond:
            while not self._stop.is_set():
                upto = self._intent[1] if self._intent else None
                if self._flush_until_empty and not len(self._buffer):
                    self._flush_until_empty = False
                first = self._buffer.first_seq()
                flush = self._flush or self._flush_until_empty or (first is not None and first <= self._flush_through)
                batch = self._buffer.ready_batch(self._batch_rows, self._batch_delay, flush=flush, upto=upto)
                if batch:
                    return batch
                wait = self._batch_delay - self._buffer.oldest_age() if len(self._buffer) else self._batch_delay
                self._buffer.cond.wait(max(0.005, min(wait, 0.5)))
        return []

    def _write(self, batch: list[Entry]) -> None:
        first, last = batch[0].record.seq, batch[-1].record.seq
        if self._intent != (first, last):
            self._wal.set_intent(first, last)
        decoded = [(entry, self._decoded(entry)) for entry in batch]
        if self._insert_batch(decoded, f"{self._wal.instance_id}:{first}-{last}"):
            self._wal.commit(last)
            self._intent = None
            with self._buffer.cond:
                self._buffer.release(batch)
            self.report_queue()

    def _decoded(self, entry: Entry) -> Decoded | None:
        if entry.decoded is not None:
            return entry.decoded
        payload = self._wal.read(entry.record)
        try:
            return self._decode(entry.record.signal, payload)
        except MalformedRequest as exc:  # it decoded when accepted; a different decoder version disagrees
            self._quarantine(entry, payload, f"no longer decodes: {exc}")
            return None

    def _insert_batch(self, decoded: list[tuple[Entry, Decoded | None]], token: str) -> bool:
        """Insert every table's rows for the batch. False only when stopping before it is all in."""
        for table, columns in INSERT_COLUMNS.items():  # fixed order: otel_traces (and its views) first
            parts = [d.blocks[table] for _, d in decoded if d is not None and table in d.blocks]
            if not parts:
                continue
            outcome = self._insert(table, columns, join_blocks(parts), token)
            if outcome is None:
                return False
            if outcome == "data_error":
                log.warning("ClickHouse refused rows of a batch for %s; inserting them request by request", table)
                if not self._insert_singly(table, columns, decoded, token):
                    return False
        return True

    def _insert_singly(
        self, table: str, columns: tuple[str, ...], decoded: list[tuple[Entry, Decoded | None]], token: str
    ) -> bool:
        for entry, d in decoded:
            if d is None or table not in d.blocks:
                continue
            outcome = self._insert(table, columns, d.blocks[table], f"{token}/{entry.record.seq}")
            if outcome is None:
                return False
            if outcome == "data_error":
                self._quarantine(entry, self._wal.read(entry.record), f"{table}: {self.last_error}")
        return True

    def _insert(self, table: str, columns: tuple[str, ...], block: RowBlock, token: str) -> str | None:
        """Insert until it works ("ok"), ClickHouse refuses the data ("data_error"), or we are stopping (None).

        Retries reuse the token: an insert that timed out may have landed, and deduplication makes the retry a no-op.
        """
        backoff = self._backoff_initial
        while True:
            started = time.perf_counter()
            try:
                self._store.insert(table, columns, block.data, token, fmt=block.fmt)
            except Exception as exc:
                self._metrics.inc("firsttoken_collector_clickhouse_errors_total")
                self.last_error = str(exc)[:500]
                if is_data_error(exc):
                    return "data_error"
                if self.healthy:
                    log.warning(
                        "insert into ClickHouse failed (%s); retrying with backoff, accepting into the spill", exc
                    )
                self.healthy = False
                self.report_queue()
                if self._stop.wait(backoff):
                    return None
                backoff = min(backoff * 2, self._backoff_max)
                continue
            self._metrics.observe(
                "firsttoken_collector_insert_duration_seconds", time.perf_counter() - started, table=table
            )
            self._metrics.inc("firsttoken_collector_written_rows_total", block.rows, table=table)
            if not self.healthy:
                log.info("ClickHouse is reachable again; writing the backlog")
                self.healthy = True
            return "ok"

    def _quarantine(self, entry: Entry, payload: bytes, reason: str) -> None:
        self._quarantine_dir.mkdir(parents=True, exist_ok=True)
        name = f"{self._wal.instance_id}-{entry.record.seq:020d}.{entry.record.signal}"
        (self._quarantine_dir / f"{name}.pb").write_bytes(payload)
        (self._quarantine_dir / f"{name}.error.txt").write_text(reason + "\n")
        self._metrics.inc("firsttoken_collector_quarantined_requests_total")
        log.error("request %s refused by ClickHouse; kept in %s: %s", entry.record.seq, self._quarantine_dir, reason)

    def report_queue(self) -> None:
        """Set the queue and spill gauges from the buffer and the log as they are now."""
        self._metrics.set("firsttoken_collector_queue_depth_rows", self._buffer.rows)
        self._metrics.set("firsttoken_collector_queue_bytes", self._buffer.memory)
        self._metrics.set("firsttoken_collector_spill_bytes", self._wal.disk_bytes())
