"""Collector test fixtures. chDB lets a process open one data directory at a time: every client is closed after its
test so the next test can open its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

clickhouse_connect = pytest.importorskip("clickhouse_connect")


@pytest.fixture
def ch_client(tmp_path: Path) -> Iterator[object]:
    """A clickhouse-connect client on a fresh embedded chDB data directory."""
    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path / 'clickhouse'}")
    try:
        yield client
    finally:
        client.close()
