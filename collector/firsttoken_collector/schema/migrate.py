"""Apply the versioned SQL migrations in `migrations/` to ClickHouse, once each, in order.

A migration is a file `NNNN_name.sql` shipped inside this package. Applied versions are recorded in
`schema_migrations` with the checksum of the file as written (before rendering, so a different TTL or cluster
does not count as a change). A file edited after it was applied is refused by version: the fix is a new migration.
Every statement is `IF NOT EXISTS`, so a run interrupted half-way is completed by the next one.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from .prices import sync_prices
from .render import SchemaOptions, identifier, render_template, split_statements

logger = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class Client(Protocol):
    """The part of a clickhouse-connect client migrations use."""

    def command(self, cmd: str, parameters: Any = None, settings: Any = None) -> Any: ...

    def query(self, query: str, parameters: Any = None, settings: Any = None) -> Any: ...

    def insert(self, table: str, data: Any, column_names: Any = ..., database: str | None = ...) -> Any: ...


class MigrationChecksumError(RuntimeError):
    """An already-applied migration file changed: the database no longer matches the files."""


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, name, template text and checksum."""

    version: int
    name: str
    template: str

    @property
    def checksum(self) -> str:
        """sha256 of the file as shipped."""
        return hashlib.sha256(self.template.encode()).hexdigest()

    def statements(self, options: SchemaOptions) -> list[str]:
        """The SQL statements of this migration for one deployment."""
        return split_statements(render_template(self.template, options))


def load_migrations() -> list[Migration]:
    """Every migration shipped in the package, by version (duplicate versions are a packaging error)."""
    found: dict[int, Migration] = {}
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations with version {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def _bookkeeping_statements(options: SchemaOptions) -> list[str]:
    database = identifier(options.database)
    if options.cluster:
        engine = "ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{replica}')"
    else:
        engine = "ReplacingMergeTree()"
    return [
        f"CREATE DATABASE IF NOT EXISTS {database} {options.on_cluster}",
        f"CREATE TABLE IF NOT EXISTS {options.shared_table('schema_migrations')} {options.on_cluster} ("
        "version UInt32, name String, checksum String, applied_at DateTime64(3) DEFAULT now64(3)"
        f") ENGINE = {engine} ORDER BY version",
    ]


def render(*, database: str = "firsttoken", ttl_days: int | None = None, cluster: str | None = None) -> str:
    """All the SQL `migrate` would run on an empty database, for `firsttoken db migrate --print`."""
    options = SchemaOptions(database=database, ttl_days=ttl_days, cluster=cluster)
    parts = [statement + ";" for statement in _bookkeeping_statements(options)]
    for migration in load_migrations():
        parts.append(f"-- {migration.version:04d}_{migration.name}")
        parts.extend(statement + ";" for statement in migration.statements(options))
    return "\n\n".join(parts) + "\n"


def _applied(client: Client, options: SchemaOptions) -> dict[int, str]:
    table = options.shared_table("schema_migrations")  # validated, back-quoted identifiers
    result = client.query(f"SELECT version, argMax(checksum, applied_at) FROM {table} GROUP BY version")  # noqa: S608
    return {int(version): str(checksum) for version, checksum in result.result_rows}


def migrate(
    client: Client, *, database: str = "firsttoken", ttl_days: int | None = None, cluster: str | None = None
) -> list[str]:
    """Create or upgrade the schema; returns the migrations applied by this run (`NNNN_name`), [] when current.

    Loads prices from genai-prices when the prices table is empty (first run, or a run interrupted before it).
    """
    options = SchemaOptions(database=database, ttl_days=ttl_days, cluster=cluster)
    for statement in _bookkeeping_statements(options):
        client.command(statement)
    applied = _applied(client, options)
    done: list[str] = []
    for migration in load_migrations():
        label = f"{migration.version:04d}_{migration.name}"
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationChecksumError(
                    f"migration {label} changed after it was applied to database {database!r} "
                    "(add a new migration instead of editing an applied one)"
                )
            continue
        logger.info("applying migration %s", label)
        for statement in migration.statements(options):
            client.command(statement)
        client.insert(
            "schema_migrations",
            [(migration.version, migration.name, migration.checksum)],
            column_names=("version", "name", "checksum"),
            database=database,
        )
        done.append(label)
    if _prices_empty(client, options):
        sync_prices(client, database)
    return done


def _prices_empty(client: Client, options: SchemaOptions) -> bool:
    result = client.query(f"SELECT count() FROM {options.shared_table('prices')}")  # noqa: S608 (validated identifier)
    return int(result.result_rows[0][0]) == 0
