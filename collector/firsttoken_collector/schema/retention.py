"""Retention after the fact: make each table's TTL match `FIRSTTOKEN_TTL_DAYS` / `--ttl-days` on an existing database.

Migrations run once, so the TTL a table was created with would otherwise stay forever, whatever the setting says
later; an operator who lowers retention to cut disk use would see nothing happen. Only an explicitly configured
value is applied: a collector started without the setting leaves the retention an earlier run chose (the default
must never shorten a retention someone raised on purpose, since that deletes data).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .migrate import Client, load_migrations
from .render import SchemaOptions, ttl_clause

logger = logging.getLogger(__name__)

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS \{\{\s*table\s+(\w+)\s*\}\}")
_TTL = re.compile(r"\{\{\s*ttl\s+([^}]*?)\s*\}\}")
_CURRENT = re.compile(r"\bTTL\b.*?toIntervalDay\((\d+)\)")


@dataclass(frozen=True, slots=True)
class RetentionChange:
    table: str
    old_days: int  # 0: kept forever
    new_days: int

    def __str__(self) -> str:
        def days(n: int) -> str:
            return "forever" if n == 0 else f"{n} days"

        return f"{self.table}: {days(self.old_days)} -> {days(self.new_days)}"


def ttl_tables() -> dict[str, str]:
    """Every data table whose migration gives it a TTL, with the time expression the TTL counts from."""
    found: dict[str, str] = {}
    for migration in load_migrations():
        blocks = _CREATE.split(migration.template)  # [before, name1, body1, name2, body2, ...]
        for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
            ttl = _TTL.search(body.split(";", 1)[0])
            if ttl:
                found[name] = ttl.group(1)
    return found


def current_ttl_days(client: Client, options: SchemaOptions, name: str) -> int | None:
    """The days a table keeps data (0: no TTL), or None when the table does not exist."""
    local = f"{name}_local" if options.cluster else name
    result = client.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {name:String}",
        parameters={"db": options.database, "name": local},
    )
    if not result.result_rows:
        return None
    match = _CURRENT.search(str(result.result_rows[0][0]))
    return int(match.group(1)) if match else 0


def apply_retention(
    client: Client, *, database: str = "firsttoken", ttl_days: int, cluster: str | None = None
) -> list[RetentionChange]:
    """ALTER each table whose TTL differs from `ttl_days` (0 removes the TTL). Returns what changed.

    ClickHouse applies a shorter TTL to existing parts in the background (a mutation; with `ttl_only_drop_parts`
    whole day partitions are dropped), so this returns quickly even on a large database.
    """
    options = SchemaOptions(database=database, ttl_days=ttl_days, cluster=cluster)
    changes = []
    for name, expression in ttl_tables().items():
        current = current_ttl_days(client, options, name)
        if current is None or current == ttl_days:
            continue
        clause = f"MODIFY {ttl_clause(options, expression)}" if ttl_days > 0 else "REMOVE TTL"
        client.command(f"ALTER TABLE {options.table(name)} {options.on_cluster} {clause}")
        change = RetentionChange(name, current, ttl_days)
        logger.warning("retention changed for %s", change)
        changes.append(change)
    return changes
