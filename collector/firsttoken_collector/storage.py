"""ClickHouse through clickhouse-connect: the one place that knows how to open a client and insert a batch.

Embedded chDB and a server take the same SQL; the differences (how to connect, that chDB lets one process own a data
directory) stay here.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from firsttoken_collector.config import ClickHouseTarget
from firsttoken_collector.otlp.decoded import JSON_COMPACT

# Settings every batch insert carries. The deduplication token makes a replayed batch (after a crash or a failed
# insert whose fate is unknown) a no-op for every table that already has it, including materialized-view targets.
# async_insert is off because ClickHouse ignores deduplication tokens for asynchronous inserts.
_INSERT_SETTINGS: dict[str, Any] = {
    "insert_deduplicate": 1,
    "deduplicate_blocks_in_dependent_materialized_views": 1,
    "async_insert": 0,
}

# ClickHouse error codes meaning "this data can never be inserted" (as opposed to "try again later").
_DATA_ERROR_CODES = frozenset(
    {6, 26, 27, 38, 41, 53, 69, 70, 72, 117, 130, 131, 407, 1001},
)
_CODE = re.compile(r"Code: (\d+)")


def connect(target: ClickHouseTarget, *, database: str | None = None) -> Any:
    """A clickhouse-connect client for the target (the caller closes it)."""
    import clickhouse_connect

    if target.embedded_path is not None:
        target.embedded_path.mkdir(parents=True, exist_ok=True)
        client = clickhouse_connect.get_client(dsn=f"chdb://{target.embedded_path}")
        if database:
            client.database = database  # the database must exist (chDB checks on first use)
        return client
    return clickhouse_connect.get_client(
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
        secure=target.secure,
        database=database or "default",
        connect_timeout=5,
        send_receive_timeout=60,
        autogenerate_session_id=False,
    )


def is_data_error(exc: BaseException) -> bool:
    """True when ClickHouse rejected the rows themselves; retrying the same rows can never succeed."""
    match = _CODE.search(str(exc))
    return match is not None and int(match.group(1)) in _DATA_ERROR_CODES


class ClickHouseWriter:
    """Inserts encoded row blocks, one INSERT per table per batch, each with a deduplication token."""

    def __init__(self, target: ClickHouseTarget, *, database: str) -> None:
        self._target = target
        self._database = database
        self._client: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._client is None:
            client = connect(self._target)
            # The database may not exist yet on a fresh target (migrations create it, through this same client).
            client.command(f"CREATE DATABASE IF NOT EXISTS `{self._database}`")
            client.database = self._database
            self._client = client
        return self._client

    def insert(
        self,
        table: str,
        columns: tuple[str, ...],
        data: bytes | tuple[bytes, ...],
        token: str,
        *,
        fmt: str = JSON_COMPACT,
    ) -> None:
        """One INSERT. `data` in pieces is streamed piece by piece (chDB writes them to its input file, a server
        gets them as a chunked body), never joined into one buffer; a retry calls this again and streams it anew."""
        insert_block = data if isinstance(data, bytes) else (piece for piece in data)
        with self._lock:
            client = self._get()
            try:
                client.raw_insert(
                    f"`{self._database}`.`{table}`",
                    list(columns),
                    insert_block=insert_block,
                    fmt=fmt,
                    settings={**_INSERT_SETTINGS, "insert_deduplication_token": token},
                )
            except Exception:
                if not self._target.embedded:
                    self._drop_client()  # a server client may be wedged on a dead connection: reconnect next time
                raise

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: S110 - closing a broken client must not mask the insert error
                pass

    def client(self) -> Any:
        """The shared client, for the read-only query endpoint (embedded mode: the only one this process may open)."""
        with self._lock:
            return self._get()

    def close(self) -> None:
        with self._lock:
            self._drop_client()
