"""The collector's read-only query endpoint (`POST /v1/query`), and the reader that uses it when it must.

Why it exists: embedded chDB lets one process own a data directory, and while the collector runs that process is
the collector. `firsttoken report` and `firsttoken export` (and anything else that reads) therefore ask the running
collector, over its loopback HTTP port, to run their SELECT; with a ClickHouse server, or with no collector running,
they open ClickHouse directly. `open_reader` makes that choice, so callers see one interface either way.

Fresh reads: the collector batches its inserts (up to `FIRSTTOKEN_BATCH_DELAY_SECONDS`), so a report run right after
a burst would miss the burst. A query sent with `"fresh": true` first makes the collector insert everything it had
acknowledged (waiting up to `FRESH_TIMEOUT` seconds); `CollectorReader` asks for that on its first query, so one
report or export sees everything acknowledged before it started. When ClickHouse is too slow or down for that, the
answer says how many acknowledged requests it does not include, and the reader warns.

Read-only is enforced by ClickHouse, not by parsing: the statement is run as `SELECT * FROM (<statement>)
SETTINGS readonly = 1`, so anything but a single SELECT fails to parse, and readonly mode refuses writes and
file/url table functions even if the inner query tries to lower it. Values travel as ClickHouse query parameters
(`{name:Type}` placeholders), never pasted into the SQL.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from firsttoken_collector.config import CollectorConfig

RUNTIME_FILE = "collector.json"
MAX_QUERY_BYTES = 1 << 20
FRESH_TIMEOUT = 10.0
UNFLUSHED_FIELD = "firsttoken_unflushed_requests"

log = logging.getLogger("firsttoken.collector")


class QueryError(RuntimeError):
    """The query could not run (bad SQL, ClickHouse unreachable, the collector refused it)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def readonly_sql(statement: str) -> str:
    statement = statement.strip().rstrip(";").strip()
    if not statement:
        raise QueryError("empty query")
    return f"SELECT * FROM ({statement}) SETTINGS readonly = 1"  # noqa: S608 - read-only by construction (module doc)


def _result(raw: bytes | dict[str, Any]) -> QueryResult:
    body = json.loads(raw) if isinstance(raw, bytes) else raw
    meta = body.get("meta", [])
    return QueryResult([m["name"] for m in meta], [m["type"] for m in meta], body.get("data", []))


def _raw_readonly(client: Any, statement: str, parameters: Mapping[str, Any] | None) -> bytes:
    raw = client.raw_query(
        readonly_sql(statement),
        parameters=dict(parameters or {}),
        fmt="JSONCompact",
        settings={"output_format_json_quote_64bit_integers": 0},
    )
    return bytes(raw)


def run_readonly(client: Any, statement: str, parameters: Mapping[str, Any] | None) -> QueryResult:
    """Run one SELECT through a clickhouse-connect client, read-only, parameters bound by ClickHouse."""
    return _result(_raw_readonly(client, statement, parameters))


class QueryHandler:
    """`POST /v1/query` body: `{"query": "SELECT ...", "parameters": {...}, "fresh": false}`; answers ClickHouse's
    JSONCompact (plus `firsttoken_unflushed_requests` when a fresh read could not include everything)."""

    def __init__(self, client_source: Any, database: str, flush: Callable[[float], int] | None = None) -> None:
        self._client_source = client_source  # a ClickHouseWriter: shares the collector's one embedded client
        self._database = database
        self._flush = flush  # IngestPipeline.flush

    def __call__(self, body: bytes) -> tuple[int, str, bytes]:
        if len(body) > MAX_QUERY_BYTES:
            return 413, "application/json", _error(f"query body over {MAX_QUERY_BYTES} bytes")
        try:
            request = json.loads(body)
            statement = request["query"]
            parameters = request.get("parameters") or {}
            fresh = request.get("fresh", False)
            if not isinstance(statement, str) or not isinstance(parameters, dict) or not isinstance(fresh, bool):
                raise TypeError("query must be a string, parameters an object and fresh a boolean")
        except (ValueError, KeyError, TypeError) as exc:
            return 400, "application/json", _error(f"bad query request: {exc}")
        unflushed = self._flush(FRESH_TIMEOUT) if fresh and self._flush is not None else 0
        try:
            raw = _raw_readonly(self._client_source.client(), statement, parameters)
        except Exception as exc:
            return 400, "application/json", _error(str(exc)[:2000])
        if unflushed:
            answer = json.loads(raw)
            answer[UNFLUSHED_FIELD] = unflushed
            raw = json.dumps(answer).encode()
        return 200, "application/json", raw


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class Reader(Protocol):
    def query(self, statement: str, parameters: Mapping[str, Any] | None = None) -> QueryResult: ...

    def close(self) -> None: ...


class DirectReader:
    """Reads straight from ClickHouse (a server, or an embedded directory no collector holds)."""

    def __init__(self, client: Any, database: str) -> None:
        self._client = client
        self._database = database

    def query(self, statement: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        try:
            return run_readonly(self._client, statement, parameters)
        except QueryError:
            raise
        except Exception as exc:
            raise QueryError(str(exc)) from exc

    def close(self) -> None:
        self._client.close()


class CollectorReader:
    """Reads through a running collector's `/v1/query` (embedded mode while the collector owns the directory)."""

    def __init__(self, url: str, token: str | None, timeout: float = 60.0, *, fresh: bool = True) -> None:
        self._url = url
        self._token = token
        self._timeout = timeout
        self._fresh = fresh  # the first query waits for what the collector acknowledged (module doc)

    def query(self, statement: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        fresh, self._fresh = self._fresh, False
        request = urllib.request.Request(  # noqa: S310 - a loopback URL from our own runtime file
            self._url,
            data=json.dumps({"query": statement, "parameters": dict(parameters or {}), "fresh": fresh}).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self._token}"} if self._token else {}),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = json.loads(detail)["error"]
            except (ValueError, KeyError, TypeError):
                pass
            raise QueryError(f"collector refused the query ({exc.code}): {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise QueryError(f"collector at {self._url} unreachable: {exc}") from None
        body = json.loads(raw)
        unflushed = body.get(UNFLUSHED_FIELD, 0)
        if unflushed:
            log.warning(
                "%d requests the collector acknowledged are not in ClickHouse yet (it is slow or down); "
                "these figures do not include them",
                unflushed,
            )
        return _result(body)

    def close(self) -> None:
        pass


def write_runtime_file(config: CollectorConfig, http_port: int) -> Path:
    """Tell readers on this machine where the running collector answers queries (removed on clean shutdown)."""
    path = config.data_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "host": config.host, "http_port": http_port}))
    os.replace(tmp, path)
    return path


def _running_collector(config: CollectorConfig) -> dict[str, Any] | None:
    path = config.data_dir / RUNTIME_FILE
    try:
        info: dict[str, Any] = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def open_reader(config: CollectorConfig) -> Reader:
    """A reader for the configured ClickHouse: direct, or through the running collector in embedded mode."""
    from firsttoken_collector.storage import connect

    target = config.clickhouse
    if target.embedded:
        info = _running_collector(config)
        if info is not None:
            host = info.get("host") or "127.0.0.1"
            if host in ("0.0.0.0", "::"):  # noqa: S104 - reaching our own wildcard bind via loopback
                host = "127.0.0.1"
            return CollectorReader(f"http://{host}:{int(info['http_port'])}/v1/query", config.token)
    try:
        return DirectReader(connect(target, database=target.database), target.database)
    except Exception as exc:
        raise QueryError(f"cannot open ClickHouse ({target.describe()}): {exc}") from exc
