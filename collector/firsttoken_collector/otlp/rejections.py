"""Counting the items of a request that cannot be stored, for OTLP partial success.

OTLP lets a receiver accept part of a request: the client is told how many items were rejected and why, and must not
retry. The message names each distinct reason once (with its count), so one bad exporter cannot produce a huge error.
"""

from __future__ import annotations


class Rejections:
    """Rejected-item counts per reason."""

    __slots__ = ("by_reason", "count")

    def __init__(self) -> None:
        self.count = 0
        self.by_reason: dict[str, int] = {}

    def add(self, reason: str) -> None:
        self.count += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    def message(self, noun: str) -> str:
        if not self.count:
            return ""
        parts = [f"{count} {noun}: {reason}" for reason, count in self.by_reason.items()]
        return "rejected " + "; ".join(parts)
