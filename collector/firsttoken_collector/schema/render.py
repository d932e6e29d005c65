"""Turn a migration file's template into the SQL statements for one deployment.

Migration files are written once and rendered for two layouts, so their SQL never pastes configuration in raw:

- single node (embedded chDB or one server): plain MergeTree-family engines, tables under their public names;
- cluster (`--cluster NAME`): every statement `ON CLUSTER`, Replicated engines, data tables named `<name>_local`
  with a Distributed table under the public name (so readers and writers keep using `otel_traces`, `llm_calls`),
  and materialized views reading and writing the local tables on each shard.

Placeholders (`{{...}}`):
    {{db}}                          the database identifier
    {{on_cluster}}                  `ON CLUSTER name`, or nothing
    {{table NAME}}                  a sharded data table (`db.NAME`, or `db.NAME_local` in cluster mode)
    {{shared_table NAME}}           a table every node holds in full (`db.NAME` in both modes)
    {{view NAME}}                   a materialized view (`db.NAME`)
    {{engine KIND}}                 `KIND()`, or in cluster mode
                                    `ReplicatedKIND('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')`
    {{shared_engine KIND}}          as engine, but one replica set across all shards (path without `{shard}`)
    {{ttl EXPR}}                    `TTL EXPR + toIntervalDay(n)`, or nothing when TTL is off
    {{dedup}}                       `, <non_>replicated_deduplication_window = 1000` (for SETTINGS)
    {{distributed NAME SHARDKEY}}   cluster mode: the Distributed table over `NAME_local`; single node: nothing
    {{add_column NAME DEFINITION}}  `ALTER TABLE ... ADD COLUMN IF NOT EXISTS DEFINITION` on the table, and in cluster
                                    mode on both `NAME_local` and its Distributed table (ON CLUSTER)
Identifiers are validated against `IDENTIFIER` and back-quoted; a template may only use the names above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEDUPLICATION_WINDOW = 1000
"""Blocks remembered per table for insert deduplication: covers every batch a writer could replay after a crash."""
DEFAULT_TTL_DAYS = 30

_ENGINES = frozenset({"MergeTree", "AggregatingMergeTree", "SummingMergeTree", "ReplacingMergeTree"})
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)(?:\s+([^}]*?))?\s*\}\}")


class SchemaConfigError(ValueError):
    """A database, cluster, table name or TTL that cannot be used safely in SQL."""


def identifier(name: str, what: str = "identifier") -> str:
    """Back-quote `name` after checking it is a plain identifier (config values are never pasted raw)."""
    if not IDENTIFIER.fullmatch(name):
        raise SchemaConfigError(f"invalid {what} {name!r}: must match {IDENTIFIER.pattern}")
    return f"`{name}`"


@dataclass(frozen=True)
class SchemaOptions:
    """Where and how the schema is created. `ttl_days=None` means DEFAULT_TTL_DAYS; 0 keeps data forever."""

    database: str = "firsttoken"
    ttl_days: int | None = None
    cluster: str | None = None

    def __post_init__(self) -> None:
        identifier(self.database, "database name")
        if self.cluster is not None:
            identifier(self.cluster, "cluster name")
        if self.ttl_days is not None and (
            isinstance(self.ttl_days, bool) or not isinstance(self.ttl_days, int) or self.ttl_days < 0
        ):
            raise SchemaConfigError(f"invalid ttl_days {self.ttl_days!r}: must be a whole number of days >= 0")

    @property
    def effective_ttl_days(self) -> int:
        """The TTL actually rendered: the default when none was given."""
        return DEFAULT_TTL_DAYS if self.ttl_days is None else self.ttl_days

    @property
    def on_cluster(self) -> str:
        """`ON CLUSTER name` in cluster mode, else nothing."""
        return f"ON CLUSTER {identifier(self.cluster, 'cluster name')}" if self.cluster else ""

    def table(self, name: str) -> str:
        """A sharded data table: its local name in cluster mode."""
        return f"{identifier(self.database)}.{identifier(name + '_local' if self.cluster else name, 'table name')}"

    def shared_table(self, name: str) -> str:
        """A table every node holds in full (prices, bookkeeping)."""
        return f"{identifier(self.database)}.{identifier(name, 'table name')}"


def _engine(options: SchemaOptions, kind: str, *, shared: bool) -> str:
    if kind not in _ENGINES:
        raise SchemaConfigError(f"unsupported engine {kind!r}")
    if not options.cluster:
        return f"{kind}()"
    shard = "all" if shared else "{shard}"
    return f"Replicated{kind}('/clickhouse/tables/{shard}/{{database}}/{{table}}', '{{replica}}')"


def _distributed(options: SchemaOptions, argument: str) -> str:
    name, _, sharding_key = argument.partition(" ")
    if not options.cluster:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9_(), ]+", sharding_key):
        raise SchemaConfigError(f"invalid sharding key {sharding_key!r}")
    database = identifier(options.database)
    return (
        f"CREATE TABLE IF NOT EXISTS {options.shared_table(name)} {options.on_cluster} "
        f"AS {options.table(name)} "
        f"ENGINE = Distributed({identifier(options.cluster or '', 'cluster name')}, {database}, "
        f"{identifier(name + '_local', 'table name')}, {sharding_key.strip()})"
    )


def _add_column(options: SchemaOptions, argument: str) -> str:
    name, _, definition = argument.partition(" ")
    if not definition.strip():
        raise SchemaConfigError("{{add_column}} needs a table name and a column definition")
    clause = f"ADD COLUMN IF NOT EXISTS {definition.strip()}"
    local = f"ALTER TABLE {options.table(name)} {options.on_cluster} {clause}"
    if not options.cluster:
        return local
    # A Distributed table keeps its own column list: it must learn the column too, or queries through it fail.
    return f"{local};\nALTER TABLE {options.shared_table(name)} {options.on_cluster} {clause}"


def ttl_clause(options: SchemaOptions, expression: str) -> str:
    days = options.effective_ttl_days
    return f"TTL {expression} + toIntervalDay({days})" if days > 0 else ""


def _dedup(options: SchemaOptions) -> str:
    prefix = "replicated" if options.cluster else "non_replicated"
    return f", {prefix}_deduplication_window = {DEDUPLICATION_WINDOW}"


def render_template(template: str, options: SchemaOptions) -> str:
    """Fill every placeholder of `template`; an unknown placeholder is an error (a typo must not reach SQL)."""

    def substitute(match: re.Match[str]) -> str:
        name, argument = match.group(1), (match.group(2) or "").strip()
        if name == "db":
            return identifier(options.database)
        if name == "on_cluster":
            return options.on_cluster
        if name == "table":
            return options.table(argument)
        if name == "shared_table":
            return options.shared_table(argument)
        if name == "view":
            return options.shared_table(argument)
        if name in ("engine", "shared_engine"):
            return _engine(options, argument, shared=name == "shared_engine")
        if name == "ttl":
            return ttl_clause(options, argument)
        if name == "dedup":
            return _dedup(options)
        if name == "distributed":
            return _distributed(options, argument)
        if name == "add_column":
            return _add_column(options, argument)
        raise SchemaConfigError(f"unknown placeholder {{{{{name}}}}} in a migration")

    return _PLACEHOLDER.sub(substitute, template)


def split_statements(sql: str) -> list[str]:
    """Split rendered SQL on `;` at line ends, dropping comment-only lines and statements left empty.

    Migration files keep `;` out of string literals and comments mid-statement, so this simple rule is exact.
    """
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [statement.strip() for statement in statements if statement.strip()]
