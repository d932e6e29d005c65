"""The write-ahead log: every acknowledged OTLP request is on disk before its 200 goes out.

Why a log of requests rather than of rows: the request bytes are what the client sent and what we can always decode
again, so the log is small, format-stable and replayable by any later version of the decoders.

Layout under the WAL directory:
- `seg-<first seq>.wal`: records appended in sequence order; a new segment starts past `segment_bytes`.
  A record is a 25-byte header (magic, seq, signal, payload length, CRC-32 of the payload) and the payload.
- `checkpoint.json`: `committed` (every record with seq <= it is in ClickHouse) and `intent` (the batch the writer
  is inserting, so a restart re-forms exactly that batch and ClickHouse's insert deduplication drops what already
  landed). Replaced atomically.

Durability: appends are serialised, and `append` returns only after the bytes are flushed to the OS (which survives
the process being killed) and, with `fsync`, to the disk (which survives the machine). Concurrent appends share one
fsync (group commit), so a busy collector pays one disk flush per wave of requests, not per request.
A torn record at the end of the last segment (the process died mid-write, so it was never acknowledged) is cut off
at recovery.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import threading
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

from firsttoken_collector.otlp.decoded import SIGNALS, Signal

_MAGIC = 0x46545731  # "FTW1"
_HEADER = struct.Struct("<IQBII")  # magic, seq, signal index, payload length, crc32
HEADER_SIZE = _HEADER.size
_SEGMENT_PREFIX = "seg-"
_SEGMENT_SUFFIX = ".wal"
_CHECKPOINT = "checkpoint.json"


class WalError(RuntimeError):
    """The log on disk is unusable (not a torn tail: corruption in the middle, or an unreadable directory)."""


@dataclass(frozen=True, slots=True)
class WalRecord:
    seq: int
    signal: Signal
    segment: int  # first seq of the segment file holding it
    offset: int  # of the header within that file
    size: int  # payload bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    committed: int = 0
    intent: tuple[int, int] | None = None


class WriteAheadLog:
    def __init__(self, directory: Path, *, segment_bytes: int = 64 * 1024 * 1024, fsync: bool = True) -> None:
        self._dir = directory
        self._segment_bytes = segment_bytes
        self._fsync = fsync
        self._lock = threading.Lock()  # appends, rotation, pruning
        self._sync_lock = threading.Lock()  # one fsync at a time; waiters piggyback on it
        directory.mkdir(parents=True, exist_ok=True)
        self.instance_id = self._instance_id()
        self._checkpoint = self._read_checkpoint()
        self._segments: dict[int, int] = {}  # first seq -> last seq written to it
        self._segment_sizes: dict[int, int] = {}
        self.recovered: list[WalRecord] = self._recover()
        last_seq = max([self._checkpoint.committed, *(r.seq for r in self.recovered)])
        self._next_seq = last_seq + 1
        self._current: int | None = None
        self._fd: int = -1
        self._written = 0  # appends since open: the clock group commit counts in
        self._synced = 0

    # ---- appending -------------------------------------------------------------------------------------------
    def append(self, signal: Signal, payload: bytes) -> WalRecord:
        """Append one request; durable when this returns (see the module docstring)."""
        record, mark = self.write(signal, payload)
        self.sync(mark)
        return record

    def write(self, signal: Signal, payload: bytes) -> tuple[WalRecord, int]:
        """Append without waiting for the disk; `sync(mark)` makes it durable. Lets a caller order its own
        bookkeeping with the sequence number while still sharing fsyncs with concurrent appends."""
        header_payload_crc = zlib.crc32(payload)
        with self._lock:
            seq = self._next_seq
            if self._current is None or self._segment_sizes[self._current] >= self._segment_bytes:
                self._rotate(seq)
            assert self._current is not None
            offset = self._segment_sizes[self._current]
            header = _HEADER.pack(_MAGIC, seq, SIGNALS.index(signal), len(payload), header_payload_crc)
            try:
                _write_all(self._fd, header + payload)
            except OSError:
                # A partial record in the middle of a segment would read as corruption later: cut it off.
                os.ftruncate(self._fd, offset)
                raise
            self._next_seq = seq + 1
            self._segment_sizes[self._current] = offset + HEADER_SIZE + len(payload)
            self._segments[self._current] = seq
            self._written += 1
            mark = self._written
            record = WalRecord(seq, signal, self._current, offset, len(payload))
        return record, mark

    def sync(self, mark: int) -> None:
        """Wait until the append numbered `mark` is on disk (no-op without fsync: written is enough)."""
        if not self._fsync or self._synced >= mark:
            return
        with self._sync_lock:
            if self._synced >= mark:
                return  # another thread's fsync covered this append
            with self._lock:
                target = self._written
                current_fd = self._fd
            # Rotation fsyncs the segment it closes, so syncing the current one covers everything written so far.
            if current_fd >= 0:
                try:
                    os.fsync(current_fd)
                except OSError as exc:
                    if exc.errno != errno.EBADF:  # closed by a rotation, which fsynced it first
                        raise
            self._synced = target

    def _rotate(self, first_seq: int) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
        path = self._segment_path(first_seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._current = first_seq
        self._segments[first_seq] = first_seq - 1
        self._segment_sizes[first_seq] = 0
        _fsync_dir(self._dir)

    # ---- reading ---------------------------------------------------------------------------------------------
    def read(self, record: WalRecord) -> bytes:
        with open(self._segment_path(record.segment), "rb") as handle:
            handle.seek(record.offset)
            header = handle.read(HEADER_SIZE)
            magic, seq, _signal, size, crc = _HEADER.unpack(header)
            payload = handle.read(size)
        if magic != _MAGIC or seq != record.seq or zlib.crc32(payload) != crc:
            raise WalError(f"record {record.seq} in {self._segment_path(record.segment)} is corrupt")
        return payload

    # ---- progress ----------------------------------------------------------------------------------------------
    @property
    def checkpoint(self) -> Checkpoint:
        return self._checkpoint

    def set_intent(self, first: int, last: int) -> None:
        """Record the batch about to be inserted, before inserting it."""
        self._write_checkpoint(Checkpoint(self._checkpoint.committed, (first, last)))

    def commit(self, upto: int) -> None:
        """Every record with seq <= `upto` is in ClickHouse: forget the intent and drop fully committed segments."""
        self._write_checkpoint(Checkpoint(max(upto, self._checkpoint.committed), None))
        with self._lock:
            for first, last in sorted(self._segments.items()):
                if first == self._current or last > upto:
                    continue
                try:
                    self._segment_path(first).unlink()
                except FileNotFoundError:
                    pass
                del self._segments[first]
                del self._segment_sizes[first]

    def disk_bytes(self) -> int:
        """Bytes on disk in segments (what the spill limit is measured against)."""
        with self._lock:
            return sum(self._segment_sizes.values())

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                if self._fsync:
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
                self._current = None

    # ---- recovery ----------------------------------------------------------------------------------------------
    def _segment_path(self, first_seq: int) -> Path:
        return self._dir / f"{_SEGMENT_PREFIX}{first_seq:020d}{_SEGMENT_SUFFIX}"

    def _instance_id(self) -> str:
        """A random id for this log, fixed for its life: it prefixes insert deduplication tokens, so two collector
        replicas (each with its own log and its own sequence numbers) never collide in ClickHouse."""
        path = self._dir / "instance_id"
        if path.exists():
            return path.read_text().strip()
        value = uuid.uuid4().hex[:16]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(value)
        os.replace(tmp, path)
        return value

    def _read_checkpoint(self) -> Checkpoint:
        path = self._dir / _CHECKPOINT
        if not path.exists():
            return Checkpoint()
        try:
            data = json.loads(path.read_text())
            intent = data.get("intent")
            return Checkpoint(int(data["committed"]), (int(intent[0]), int(intent[1])) if intent else None)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise WalError(f"{path} is unreadable ({exc}); move it aside to replay the whole log") from None

    def _write_checkpoint(self, checkpoint: Checkpoint) -> None:
        path = self._dir / _CHECKPOINT
        tmp = path.with_suffix(".tmp")
        body = {"committed": checkpoint.committed, "intent": list(checkpoint.intent) if checkpoint.intent else None}
        with open(tmp, "w") as handle:
            handle.write(json.dumps(body))
            handle.flush()
            if self._fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
        if self._fsync:
            _fsync_dir(self._dir)
        self._checkpoint = checkpoint

    def _recover(self) -> list[WalRecord]:
        """Scan every segment; return the records not yet committed, in order. Cut a torn tail off the last one."""
        firsts = sorted(
            int(p.name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)])
            for p in self._dir.glob(f"{_SEGMENT_PREFIX}*{_SEGMENT_SUFFIX}")
        )
        pending: list[WalRecord] = []
        for index, first in enumerate(firsts):
            is_last = index == len(firsts) - 1
            path = self._segment_path(first)
            records, good_size = _scan(path, first)
            size = path.stat().st_size
            if good_size != size:
                if not is_last:
                    raise WalError(f"{path} is corrupt at byte {good_size} and is not the newest segment")
                os.truncate(path, good_size)  # a torn append: never acknowledged
            last = records[-1].seq if records else first - 1
            if records or is_last:
                self._segments[first] = last
                self._segment_sizes[first] = good_size
            else:
                path.unlink()
            pending.extend(r for r in records if r.seq > self._checkpoint.committed)
        return pending


def _scan(path: Path, first: int) -> tuple[list[WalRecord], int]:
    records: list[WalRecord] = []
    offset = 0
    with open(path, "rb") as handle:
        data = handle.read()
    while offset + HEADER_SIZE <= len(data):
        magic, seq, signal_index, size, crc = _HEADER.unpack_from(data, offset)
        end = offset + HEADER_SIZE + size
        expected = records[-1].seq + 1 if records else first
        if magic != _MAGIC or seq != expected or signal_index >= len(SIGNALS) or end > len(data):
            break
        if zlib.crc32(data[offset + HEADER_SIZE : end]) != crc:
            break
        records.append(WalRecord(seq, SIGNALS[signal_index], first, offset, size))
        offset = end
    return records, offset


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
