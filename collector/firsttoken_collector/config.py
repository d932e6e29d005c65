"""What the collector is told, from the environment and its command line, validated once at start.

A bad value stops the collector before it binds a port, with a message that names the setting: a typo in a
deployment should fail the rollout, not surface hours later as lost spans.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ENV_CLICKHOUSE_URL = "FIRSTTOKEN_CLICKHOUSE_URL"
ENV_DATA_DIR = "FIRSTTOKEN_DATA_DIR"
ENV_TOKEN = "FIRSTTOKEN_COLLECTOR_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_HOST = "FIRSTTOKEN_COLLECTOR_HOST"
ENV_HTTP_PORT = "FIRSTTOKEN_COLLECTOR_HTTP_PORT"
ENV_GRPC_PORT = "FIRSTTOKEN_COLLECTOR_GRPC_PORT"
ENV_MAX_REQUEST_BYTES = "FIRSTTOKEN_MAX_REQUEST_BYTES"
ENV_QUEUE_BYTES = "FIRSTTOKEN_QUEUE_MAX_BYTES"
ENV_SPILL_BYTES = "FIRSTTOKEN_SPILL_MAX_BYTES"
ENV_BATCH_ROWS = "FIRSTTOKEN_BATCH_ROWS"
ENV_BATCH_DELAY = "FIRSTTOKEN_BATCH_DELAY_SECONDS"
ENV_SELF_METRICS = "FIRSTTOKEN_SELF_METRICS_SECONDS"
ENV_TTL_DAYS = "FIRSTTOKEN_TTL_DAYS"
ENV_DATABASE = "FIRSTTOKEN_DATABASE"
ENV_WAL_FSYNC = "FIRSTTOKEN_WAL_FSYNC"
ENV_DECODE_WORKERS = "FIRSTTOKEN_DECODE_WORKERS"

DEFAULT_DATA_DIR = "~/.local/share/firsttoken"
MiB = 1024 * 1024
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CollectorConfigError(ValueError):
    """A collector setting has a value it cannot use; the message names the setting."""


@dataclass(frozen=True, slots=True)
class ClickHouseTarget:
    """Where rows go: an embedded chDB directory, or a ClickHouse server over HTTP(S)."""

    embedded_path: Path | None = None
    host: str = ""
    port: int = 0
    secure: bool = False
    username: str = "default"
    password: str = ""
    database: str = "firsttoken"

    @property
    def embedded(self) -> bool:
        return self.embedded_path is not None

    def describe(self) -> str:
        """For logs and errors: never includes the password."""
        if self.embedded_path is not None:
            return f"embedded chDB at {self.embedded_path} (database {self.database})"
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    clickhouse: ClickHouseTarget
    data_dir: Path
    host: str = "127.0.0.1"
    http_port: int = 4318
    grpc_port: int | None = 4317
    token: str | None = None
    insecure: bool = False
    max_request_bytes: int = 64 * MiB
    queue_max_bytes: int = 512 * MiB
    spill_max_bytes: int = 4096 * MiB
    batch_rows: int = 100_000
    batch_delay_seconds: float = 5.0
    ttl_days: int | None = None
    wal_fsync: bool = True
    migrate_on_start: bool = True
    decode_workers: int = 0
    self_metrics_seconds: int = 15

    @property
    def wal_dir(self) -> Path:
        return self.data_dir / "wal"

    @property
    def loopback_only(self) -> bool:
        return _is_loopback(self.host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_clickhouse_url(
    url: str, *, data_dir: Path, database: str, setting: str = ENV_CLICKHOUSE_URL
) -> ClickHouseTarget:
    """`http(s)://user:pass@host:port/db`, `chdb:///abs/dir`, or empty for the embedded default under the data dir."""
    if not url:
        return ClickHouseTarget(embedded_path=data_dir / "clickhouse", database=database)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CollectorConfigError(f"{setting}: not a URL ({exc})") from None
    if parts.scheme == "chdb":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path or not path.startswith("/"):
            raise CollectorConfigError(f"{setting}: chdb URLs need an absolute directory, like chdb:///var/lib/ft/ch")
        return ClickHouseTarget(embedded_path=Path(path), database=database)
    if parts.scheme not in ("http", "https"):
        raise CollectorConfigError(
            f"{setting}: scheme must be http, https or chdb (got {parts.scheme or 'none'!r} in {_redact(url)})"
        )
    if not parts.hostname:
        raise CollectorConfigError(f"{setting}: no host in {_redact(url)}")
    db = parts.path.strip("/") or database
    if not _DATABASE_NAME.match(db):
        raise CollectorConfigError(f"{setting}: database name {db!r} must match {_DATABASE_NAME.pattern}")
    secure = parts.scheme == "https"
    return ClickHouseTarget(
        host=parts.hostname,
        port=port or (8443 if secure else 8123),
        secure=secure,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=db,
    )


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise CollectorConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise CollectorConfigError(f"{name}: must be {bound}, got {value}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return _int(env, name, default, minimum=0, maximum=65535)


def load_config(env: Mapping[str, str] | None = None, **overrides: object) -> CollectorConfig:
    """Build and validate the configuration. `overrides` are command-line values (None means: not given)."""
    env = os.environ if env is None else env
    given = {key: value for key, value in overrides.items() if value is not None}

    data_dir_raw = str(given.pop("data_dir", "") or env.get(ENV_DATA_DIR, "") or DEFAULT_DATA_DIR)
    data_dir = Path(data_dir_raw).expanduser()
    if data_dir.exists() and not data_dir.is_dir():
        raise CollectorConfigError(f"{ENV_DATA_DIR}: {data_dir} exists and is not a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CollectorConfigError(f"{ENV_DATA_DIR}: cannot create {data_dir}: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK):
        raise CollectorConfigError(f"{ENV_DATA_DIR}: {data_dir} is not writable")
    data_dir = data_dir.resolve()

    database = str(given.pop("database", "") or env.get(ENV_DATABASE, "") or "firsttoken")
    if not _DATABASE_NAME.match(database):
        raise CollectorConfigError(f"{ENV_DATABASE}: {database!r} must match {_DATABASE_NAME.pattern}")
    url = str(given.pop("clickhouse_url", "") or env.get(ENV_CLICKHOUSE_URL, "")).strip()
    target = parse_clickhouse_url(url, data_dir=data_dir, database=database)

    token = str(given.pop("token", "") or env.get(ENV_TOKEN, "")) or None
    if token is not None and len(token) < 16:
        raise CollectorConfigError(f"{ENV_TOKEN}: use at least 16 characters (got {len(token)})")

    grpc_default = 4317
    grpc_port: int | None = int(str(given.pop("grpc_port"))) if "grpc_port" in given else None
    if grpc_port is None:
        grpc_port = _port(env, ENV_GRPC_PORT, grpc_default)
    if grpc_port < 0:
        grpc_port = None  # --grpc-port -1 disables the gRPC receiver

    ttl_raw = env.get(ENV_TTL_DAYS, "").strip()
    ttl_days = given.pop("ttl_days", None)
    if ttl_days is None and ttl_raw:
        ttl_days = _int(env, ENV_TTL_DAYS, 0, minimum=0, maximum=36500)  # 0: keep data forever

    fsync_raw = env.get(ENV_WAL_FSYNC, "1").strip().lower()
    if fsync_raw not in ("0", "1", "true", "false", "on", "off"):
        raise CollectorConfigError(f"{ENV_WAL_FSYNC}: expected 1/0/true/false/on/off, got {fsync_raw!r}")

    batch_delay_raw = env.get(ENV_BATCH_DELAY, "").strip()
    try:
        batch_delay = float(batch_delay_raw) if batch_delay_raw else 5.0
    except ValueError:
        raise CollectorConfigError(f"{ENV_BATCH_DELAY}: expected seconds, got {batch_delay_raw!r}") from None
    if not 0.01 <= batch_delay <= 60:
        raise CollectorConfigError(f"{ENV_BATCH_DELAY}: must be between 0.01 and 60 seconds, got {batch_delay}")

    config = CollectorConfig(
        clickhouse=target,
        data_dir=data_dir,
        host=str(given.pop("host", "") or env.get(ENV_HOST, "") or "127.0.0.1"),
        http_port=int(str(given.pop("http_port"))) if "http_port" in given else _port(env, ENV_HTTP_PORT, 4318),
        grpc_port=grpc_port,
        token=token,
        insecure=bool(given.pop("insecure", False)),
        max_request_bytes=_int(env, ENV_MAX_REQUEST_BYTES, 64 * MiB, minimum=1024, maximum=1024 * MiB),
        queue_max_bytes=_int(env, ENV_QUEUE_BYTES, 512 * MiB, minimum=MiB),
        spill_max_bytes=_int(env, ENV_SPILL_BYTES, 4096 * MiB, minimum=MiB),
        batch_rows=_int(env, ENV_BATCH_ROWS, 100_000, minimum=1, maximum=1_000_000),
        batch_delay_seconds=batch_delay,
        ttl_days=int(str(ttl_days)) if ttl_days is not None else None,
        wal_fsync=fsync_raw in ("1", "true", "on"),
        migrate_on_start=not bool(given.pop("no_migrate", False)),
        decode_workers=_int(env, ENV_DECODE_WORKERS, os.cpu_count() or 1, minimum=0, maximum=64),
        self_metrics_seconds=_int(env, ENV_SELF_METRICS, 15, minimum=0, maximum=3600),  # 0: off
    )
    if config.spill_max_bytes < config.max_request_bytes:
        raise CollectorConfigError(
            f"{ENV_SPILL_BYTES}: must be at least {ENV_MAX_REQUEST_BYTES} ({config.max_request_bytes} bytes)"
        )
    if not config.loopback_only and config.token is None and not config.insecure:
        raise CollectorConfigError(
            f"{ENV_HOST}: binding {config.host} exposes the collector beyond this machine; set {ENV_TOKEN} "
            "(clients then send `Authorization: Bearer <token>`) or pass --insecure"
        )
    return config
