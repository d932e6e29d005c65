"""The contract between the receivers (HTTP, gRPC) and the pipeline behind them."""

from __future__ import annotations

from typing import Protocol

from firsttoken_collector.otlp.decoded import Decoded


class Backpressure(Exception):
    """The pipeline cannot take the request now; the client should retry after `retry_after` seconds.

    `status` is the HTTP status to answer (429 when the in-memory queue is full, 503 when ClickHouse is down and the
    spill is full or the collector is shutting down); gRPC answers UNAVAILABLE with RetryInfo either way.
    """

    def __init__(self, status: int, retry_after: float, reason: str, cause: str = "other") -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after
        self.reason = reason
        self.cause = cause
        """A short label for the self-metrics (`queue_full`, `decoders_busy`, `spill_full`, `shutting_down`)."""


class Sink(Protocol):
    def accept(self, decoded: Decoded, payload: bytes) -> None:
        """Take a decoded request. Returns only once it is durable (safe to acknowledge); raises Backpressure.

        `payload` is the request as OTLP protobuf bytes (re-serialized for JSON requests), which is what the
        write-ahead log keeps and replays.
        """

    def precheck(self, body_bytes: int) -> None:
        """Raise Backpressure now if `accept` would refuse a request of about this size: called before decoding, so
        an overloaded collector does not spend its CPU decoding requests it is about to turn away."""

    def ready(self) -> bool:
        """Whether the collector can currently accept data (for /readyz)."""
