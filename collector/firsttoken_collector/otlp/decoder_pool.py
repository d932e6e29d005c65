"""Decoding in worker processes, so the collector uses every core for the Python part of its work.

Why processes: decoding an OTLP request into rows is pure-Python work under the GIL (~100 µs per LLM span), while
the ClickHouse insert runs in C++ without it. With decoding in the receiving threads, one core decodes and the other
waits for the insert; with worker processes, decoding spreads over the cores and the receiving process only moves
bytes. A request crosses to a worker as its body and comes back as encoded row blocks (bytes), through a slot of
shared memory (`shared_slots`), so each side copies once; through the pool's pipes the round trip cost a sixth of the
decode itself.

Small bodies are decoded inline: below `inline_below` bytes the round trip would cost more than it saves.

Decodes in flight are bounded (`max_pending`): when the CPU, not ClickHouse, is the bottleneck, requests would
otherwise pile up in memory waiting for a decoder, and latency would grow without any client being told to back
off. Past the bound a request waits up to `max_wait` for a slot, then is answered 429 with Retry-After: a burst is
absorbed (a slot frees every few tens of milliseconds) instead of sending clients away for a second each while the
decoders run dry, and under sustained overload the wait is short and bounded.
Workers are started with `spawn`, never `fork`: the collector process holds threads and an embedded ClickHouse, and
forking those is unsafe. A worker exits by itself when the collector dies without shutting the pool down (SIGKILL,
out-of-memory kill), rather than living on as an orphan holding its memory; a pool broken by a dead worker is
replaced, so one killed worker does not leave the collector decoding on a single core from then on.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from firsttoken_collector.otlp.decode import PROTOBUF, decode_protobuf, decode_request, media_type
from firsttoken_collector.otlp.decoded import Decoded, Signal
from firsttoken_collector.otlp.shared_slots import (
    SLOT_BYTES,
    SlotPool,
    SlotResult,
    hand_back,
    read_body,
    restore,
    write_body,
)
from firsttoken_collector.pipeline.sink import Backpressure


def _decode_in_worker(signal: Signal, body: bytes, content_type: str) -> tuple[Decoded, bytes | None]:
    if media_type(content_type) == PROTOBUF:
        return decode_protobuf(signal, body), None  # the payload is the body: no need to send it back
    return decode_request(signal, body, content_type)


def _decode_in_slot(signal: Signal, name: str, length: int, content_type: str) -> SlotResult:
    segment, body = read_body(name, length)
    return hand_back(segment, *_decode_in_worker(signal, body, content_type))


def _warm_up() -> None:
    """Import the decoders in each worker before the first request needs them."""


def _exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """Worker initializer: end this process once its parent is gone (it is then re-parented, so getppid changes)."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="firsttoken-parent-watch", daemon=True).start()


class DecoderPool:
    def __init__(
        self,
        workers: int | None = None,
        *,
        inline_below: int = 64 * 1024,
        max_pending: int | None = None,
        max_wait: float = 0.25,
        slot_bytes: int = SLOT_BYTES,
        shm_prefix: str | None = None,
    ) -> None:
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._inline_below = inline_below
        self._max_wait = max_wait
        in_flight = max_pending or max(4, 3 * self.workers)
        self._capacity = in_flight
        self._in_flight = threading.BoundedSemaphore(in_flight)
        self._closed = False
        self._shared = SlotPool(in_flight if self.workers > 0 else 0, slot_bytes, name_prefix=shm_prefix)
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.restarts = 0
        self.shared_round_trips = 0  # decodes whose body and rows both crossed through shared memory
        if self.workers > 0:
            self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        for future in [pool.submit(_warm_up) for _ in range(self.workers)]:
            future.result(timeout=60)
        return pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._pool_lock:
            if self._pool is not broken:
                return  # another thread already replaced it (or the pool was closed)
            broken.shutdown(wait=False, cancel_futures=True)
            try:
                self._pool = self._start()
                self.restarts += 1
            except Exception:  # cannot start workers (e.g. out of memory): decode inline from now on
                self._pool = None

    def decode(self, signal: Signal, body: bytes, content_type: str) -> tuple[Decoded, bytes]:
        """Same contract as `decode_request` (raises MalformedRequest / ValueError for the receiver to answer)."""
        pool = self._pool
        if pool is None or len(body) < self._inline_below:
            return decode_request(signal, body, content_type)
        if not self._in_flight.acquire(timeout=self._max_wait):
            raise Backpressure(429, 1.0, "the collector is behind; every decoder is busy", "decoders_busy")
        segment = self._shared.take() if len(body) <= self._shared.size else None
        try:
            if segment is None:
                decoded, payload = pool.submit(_decode_in_worker, signal, body, content_type).result()
                return decoded, body if payload is None else payload
            write_body(segment, body)
            result = pool.submit(_decode_in_slot, signal, segment.name, len(body), content_type).result()
            if result[1] is not None:
                self.shared_round_trips += 1
            return restore(segment, result, body)
        except BrokenProcessPool:
            # A worker died (out of memory, killed): decode here rather than fail a request that did nothing wrong.
            if segment is not None:  # a worker of the broken pool may still be writing into it
                self._shared.retire(segment)
                segment = None
            self._replace(pool)
            return decode_request(signal, body, content_type)
        finally:
            if segment is not None:
                self._shared.give_back(segment)
            self._in_flight.release()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers and remove the shared memory, after the decodes in flight have finished (up to
        `timeout`): they hold a slot and a worker. A decode that starts meanwhile runs inline or, if it already
        chose the pool, finds no free place and is answered 429: an error a client retries, not a failed request."""
        with self._pool_lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
        deadline = time.monotonic() + timeout
        for _ in range(self._capacity):
            if not self._in_flight.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._shared.close()
