"""Accepted requests waiting for ClickHouse, in sequence order, with the memory they hold bounded.

Every entry is already in the write-ahead log. While memory allows, an entry also keeps its decoded rows so the
writer does not decode twice; past the memory budget (ClickHouse is down and the spill is growing) an entry keeps only
its place in the log and the writer decodes it again when its turn comes. So memory stays bounded however long an
outage lasts; only the spill on disk grows, up to its own limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from firsttoken_collector.otlp.decoded import Decoded
from firsttoken_collector.pipeline.wal import WalRecord


@dataclass(slots=True)
class Entry:
    record: WalRecord
    decoded: Decoded | None  # None: on disk only
    rows: int
    memory: int
    accepted_at: float
    durable: bool = False  # the WAL append is synced; only durable entries may be inserted


class PendingBuffer:
    def __init__(self, memory_budget: int) -> None:
        self.memory_budget = memory_budget
        self.cond = threading.Condition()
        self._entries: deque[Entry] = deque()
        self.memory = 0
        self.rows = 0

    def __len__(self) -> int:
        return len(self._entries)

    def has_room(self, nbytes: int) -> bool:
        return self.memory + nbytes <= self.memory_budget or not self._entries

    def add(self, entry: Entry) -> None:
        """Caller holds `cond` (so sequence order and the admission decision are one step)."""
        self._entries.append(entry)
        self.memory += entry.memory
        self.rows += entry.rows

    def mark_durable(self, entry: Entry) -> None:
        with self.cond:
            entry.durable = True
            self.cond.notify_all()

    def ready_batch(
        self, max_rows: int, max_delay: float, *, flush: bool, upto: int | None = None, max_bytes: int = 96 << 20
    ) -> list[Entry]:
        """The next batch if one is due (caller holds `cond`): the durable prefix, cut at `max_rows` rows or
        `max_bytes` of requests (replayed entries have no row count until decoded), or at the intent range `upto`
        a restart must re-form. Empty when not yet due."""
        batch: list[Entry] = []
        rows = 0
        size = 0
        for entry in self._entries:
            if not entry.durable:
                break
            if upto is not None:
                if entry.record.seq > upto:
                    break
            elif batch and (rows + entry.rows > max_rows or size + entry.record.size > max_bytes):
                break
            batch.append(entry)
            rows += entry.rows
            size += entry.record.size
        if not batch:
            return []
        if upto is not None:
            return batch if batch[-1].record.seq >= upto else []
        due = flush or rows >= max_rows or size >= max_bytes or time.monotonic() - batch[0].accepted_at >= max_delay
        if not due and len(batch) < len(self._entries) and self._entries[len(batch)].durable:
            due = True  # the next entry would overflow the batch: this one is full
        return batch if due else []

    def first_seq(self) -> int | None:
        return self._entries[0].record.seq if self._entries else None

    def last_seq(self) -> int | None:
        return self._entries[-1].record.seq if self._entries else None

    def count_through(self, seq: int) -> int:
        """Entries up to and including `seq` (caller holds `cond`)."""
        count = 0
        for entry in self._entries:
            if entry.record.seq > seq:
                break
            count += 1
        return count

    def oldest_age(self) -> float:
        return time.monotonic() - self._entries[0].accepted_at if self._entries else 0.0

    def release(self, batch: list[Entry]) -> None:
        """Drop a batch that is now in ClickHouse (caller holds `cond`; the batch is the buffer's prefix)."""
        for entry in batch:
            head = self._entries.popleft()
            assert head is entry, "batches are always taken from the front"
            self.memory -= head.memory
            self.rows -= head.rows
        self.cond.notify_all()
