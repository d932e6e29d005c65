"""Shared-memory slots that carry request bodies to the decoder workers and their rows back.

Why: through the process pool's pipes, a request body (~600 KB for 512 LLM spans) and its rows (~750 KB) are each
pickled, written in chunks, read back into a buffer and unpickled: ~3.5 ms of CPU per such request over the two
processes, 6-8 us per span, about an eighth of the collector's CPU at full load. Through a slot, each side copies
once (~0.6 us per span): the collector writes the body in, the worker copies it out, writes its rows over it, and the
collector copies them out.

A slot is one POSIX shared-memory segment owned by the collector process, one per decode in flight (the pool's own
bound), so a decode that holds a decoder slot finds a free memory slot. The space is reserved with fallocate when the
slot is made: a /dev/shm too small for all of them (Docker's default is 64 MiB) leaves the decodes past the slots
that fit on the pipes, never a SIGBUS later. A body or rows larger than a slot take the pipes too. If the collector
is killed, multiprocessing's resource tracker removes the segments once the collector and its workers are gone; if
the tracker is killed with it (`kill -9` of the whole process group), the collector's next start on the same data
directory removes them (their names carry the data directory's collector id).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import replace
from multiprocessing import shared_memory
from pathlib import Path

from firsttoken_collector.otlp.decoded import Decoded

log = logging.getLogger("firsttoken.collector")

SHM_DIR = Path("/dev/shm")  # noqa: S108 - where Linux keeps POSIX shared memory; only our own stale names are removed
SLOT_BYTES = 8 << 20
"""Per slot: a body up to this size goes through shared memory, and so do its rows if they fit."""

# What a worker hands back: the decoded request, then either the sizes of the pieces it wrote into the slot (every
# block's data in `blocks` order, then the canonical payload when it is not the body itself) or None, in which case
# the result travels whole through the pipe and the payload is given (None when it is the body).
SlotResult = tuple[Decoded, tuple[int, ...] | None, bytes | None]


class SlotPool:
    """The collector's side: the segments, and which of them are free."""

    def __init__(self, count: int, size: int = SLOT_BYTES, *, name_prefix: str | None = None) -> None:
        """`count` slots of `size` bytes; none (everything through the pipes) when either is 0. With `name_prefix`
        (unique to one data directory, whose lock makes this collector its only user), segments are named with it,
        and those a killed earlier run left behind are removed first."""
        self.size = size if count > 0 else 0
        self._prefix = name_prefix
        if name_prefix:
            _remove_stale(name_prefix)
        self._free: list[shared_memory.SharedMemory] = []
        self._all: list[shared_memory.SharedMemory] = []
        self._lock = threading.Lock()
        wanted = count if size > 0 else 0
        try:
            for _ in range(wanted):
                self._all.append(self._make())
        except (OSError, ValueError) as exc:
            # e.g. a container's 64 MiB /dev/shm with many workers: the slots made are used, the rest take the pipes
            log.warning(
                "shared memory for %d of %d decodes in flight (%s); the others go through pipes",
                len(self._all),
                wanted,
                exc,
            )
        if not self._all:
            self.size = 0
        self._free = list(self._all)

    def _make(self) -> shared_memory.SharedMemory:
        name = f"{self._prefix}{secrets.token_hex(4)}" if self._prefix else None
        segment = shared_memory.SharedMemory(name=name, create=True, size=self.size)
        reserve = getattr(os, "posix_fallocate", None)  # Linux; macOS has none and no tmpfs size limit to fear
        try:
            if reserve is not None:
                reserve(segment._fd, 0, self.size)  # type: ignore[attr-defined] # reserve now, or fail now
        except OSError:
            segment.close()
            segment.unlink()
            raise
        return segment

    def __bool__(self) -> bool:
        return bool(self._all)

    def take(self) -> shared_memory.SharedMemory | None:
        with self._lock:
            return self._free.pop() if self._free else None

    def give_back(self, segment: shared_memory.SharedMemory) -> None:
        with self._lock:
            self._free.append(segment)

    def retire(self, segment: shared_memory.SharedMemory) -> None:
        """A slot a dead pool's worker may still write into: never used again; a new one takes its place."""
        with self._lock:
            self._all.remove(segment)
        _discard(segment)
        try:
            fresh = self._make()
        except (OSError, ValueError):
            return  # one slot fewer; without any, bodies go through the pipes
        with self._lock:
            self._all.append(fresh)
            self._free.append(fresh)

    def close(self) -> None:
        """Remove every segment (after the workers are gone: they map them)."""
        with self._lock:
            segments, self._all, self._free = self._all, [], []
        for segment in segments:
            _discard(segment)


def _remove_stale(prefix: str) -> None:
    if not SHM_DIR.is_dir():
        return
    stale = 0
    for path in SHM_DIR.glob(f"{prefix}*"):
        try:
            path.unlink()
            stale += 1
        except OSError:
            pass
    if stale:
        log.info("removed %d shared-memory slots a killed earlier run left in %s", stale, SHM_DIR)


def _discard(segment: shared_memory.SharedMemory) -> None:
    try:
        segment.close()
    except BufferError:  # a view of it is still alive somewhere; the name goes anyway, the memory with the view
        pass
    try:
        segment.unlink()
    except FileNotFoundError:
        pass


def _view(segment: shared_memory.SharedMemory) -> memoryview:
    view = segment.buf
    if view is None:  # closed: only after the pool is closed, when no decode may run
        raise RuntimeError(f"shared memory slot {segment.name} used after close")
    return view


def write_body(segment: shared_memory.SharedMemory, body: bytes) -> None:
    _view(segment)[: len(body)] = body


def restore(segment: shared_memory.SharedMemory, result: SlotResult, body: bytes) -> tuple[Decoded, bytes]:
    """The collector's side of a worker's answer: the decoded request with its rows, and the payload to log."""
    decoded, sizes, payload = result
    if sizes is None:
        return decoded, body if payload is None else payload
    view = _view(segment)
    at = 0
    blocks = {}
    for (table, block), size in zip(decoded.blocks.items(), sizes, strict=False):
        blocks[table] = replace(block, data=bytes(view[at : at + size]))
        at += size
    if len(sizes) > len(decoded.blocks):
        payload = bytes(view[at : at + sizes[-1]])
    return replace(decoded, blocks=blocks), body if payload is None else payload


# ---- the worker's side ---------------------------------------------------------------------------------------------
_attached: dict[str, shared_memory.SharedMemory] = {}


def read_body(name: str, length: int) -> tuple[shared_memory.SharedMemory, bytes]:
    segment = _attached.get(name)
    if segment is None:
        segment = _attached[name] = shared_memory.SharedMemory(name=name)
    return segment, bytes(_view(segment)[:length])


def hand_back(segment: shared_memory.SharedMemory, decoded: Decoded, payload: bytes | None) -> SlotResult:
    """Write the rows (and a payload that is not the body) into the slot, if they fit; else send them whole."""
    pieces = [block.data for block in decoded.blocks.values()]
    if payload is not None:
        pieces.append(payload)
    if not all(isinstance(piece, bytes) for piece in pieces) or sum(map(len, pieces)) > segment.size:
        return decoded, None, payload
    view = _view(segment)
    at = 0
    sizes = []
    for piece in pieces:
        assert isinstance(piece, bytes)
        view[at : at + len(piece)] = piece
        at += len(piece)
        sizes.append(len(piece))
    hollow = {table: replace(block, data=b"") for table, block in decoded.blocks.items()}
    return replace(decoded, blocks=hollow), tuple(sizes), None
