"""Migrations against real chDB: idempotence, checksums, exporter DDL, TTL, and the cluster rendering."""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any

import pytest

from firsttoken_collector.schema import MigrationChecksumError, migrate, render
from firsttoken_collector.schema.render import SchemaConfigError, SchemaOptions
from firsttoken_collector.tables import INSERT_COLUMNS

# The package re-exports the function `migrate`, which shadows the submodule of the same name.
migrate_module = importlib.import_module("firsttoken_collector.schema.migrate")

DB = "firsttoken"

# The exporter's otel_traces (exporter/clickhouseexporter sqltemplates/traces_table.sql).
EXPORTER_TRACES = [
    ("Timestamp", "DateTime64(9)"),
    ("TraceId", "String"),
    ("SpanId", "String"),
    ("ParentSpanId", "String"),
    ("TraceState", "String"),
    ("SpanName", "LowCardinality(String)"),
    ("SpanKind", "LowCardinality(String)"),
    ("ServiceName", "LowCardinality(String)"),
    ("ResourceAttributes", "Map(LowCardinality(String), String)"),
    ("ScopeName", "String"),
    ("ScopeVersion", "String"),
    ("SpanAttributes", "Map(LowCardinality(String), String)"),
    ("Duration", "UInt64"),
    ("StatusCode", "LowCardinality(String)"),
    ("StatusMessage", "String"),
    ("Events.Timestamp", "Array(DateTime64(9))"),
    ("Events.Name", "Array(LowCardinality(String))"),
    ("Events.Attributes", "Array(Map(LowCardinality(String), String))"),
    ("Links.TraceId", "Array(String)"),
    ("Links.SpanId", "Array(String)"),
    ("Links.TraceState", "Array(String)"),
    ("Links.Attributes", "Array(Map(LowCardinality(String), String))"),
]

ALL_TABLES = {
    "otel_traces",
    "otel_traces_trace_id_ts",
    "otel_logs",
    "otel_metrics_gauge",
    "otel_metrics_sum",
    "otel_metrics_histogram",
    "otel_metrics_exp_histogram",
    "otel_metrics_summary",
    "prices",
    "llm_calls",
    "tool_calls",
    "tasks",
    "llm_calls_1m",
}


def _rows(client: Any, sql: str) -> list[tuple[Any, ...]]:
    return list(client.query(sql).result_rows)


def test_migrate_twice_applies_nothing_the_second_time(ch_client: Any) -> None:
    first = migrate(ch_client, database=DB, ttl_days=7)
    assert first[0] == "0001_otel_traces"
    assert len(first) == len(migrate_module.load_migrations())
    assert migrate(ch_client, database=DB, ttl_days=7) == []
    tables = {row[0] for row in _rows(ch_client, f"SELECT name FROM system.tables WHERE database = '{DB}'")}
    assert tables >= ALL_TABLES
    assert {"llm_calls_mv", "tool_calls_mv", "tasks_mv", "llm_calls_1m_mv", "otel_traces_trace_id_ts_mv"} <= tables
    recorded = _rows(ch_client, f"SELECT version, name FROM {DB}.schema_migrations FINAL ORDER BY version")
    assert [f"{v:04d}_{n}" for v, n in recorded] == first
    assert _rows(ch_client, f"SELECT count() > 1000 FROM {DB}.prices")[0][0]


def test_changed_applied_migration_is_refused_by_version(ch_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(ch_client, database=DB)
    original = migrate_module.load_migrations

    def edited() -> list[migrate_module.Migration]:
        migrations = original()
        migrations[2] = replace(migrations[2], template=migrations[2].template + "\n-- edited\n")
        return migrations

    monkeypatch.setattr(migrate_module, "load_migrations", edited)
    with pytest.raises(MigrationChecksumError, match="0003_otel_logs"):
        migrate(ch_client, database=DB)


def test_otel_traces_matches_the_exporter(ch_client: Any) -> None:
    migrate(ch_client, database=DB)
    columns = _rows(
        ch_client,
        f"SELECT name, type FROM system.columns WHERE database = '{DB}' AND table = 'otel_traces' ORDER BY position",
    )
    assert columns == EXPORTER_TRACES
    sorting_key, partition_key, engine = _rows(
        ch_client,
        "SELECT sorting_key, partition_key, engine FROM system.tables "
        f"WHERE database = '{DB}' AND name = 'otel_traces'",
    )[0]
    assert sorting_key == "ServiceName, SpanName, toDateTime(Timestamp)"
    assert partition_key == "toDate(Timestamp)"
    assert engine == "MergeTree"
    lookup = _rows(
        ch_client,
        f"SELECT name, type FROM system.columns WHERE database = '{DB}' AND table = 'otel_traces_trace_id_ts' "
        "ORDER BY position",
    )
    assert lookup == [("TraceId", "String"), ("Start", "DateTime"), ("End", "DateTime")]


def test_insert_columns_of_the_collector_exist_in_every_exporter_table(ch_client: Any) -> None:
    migrate(ch_client, database=DB)
    for table, columns in INSERT_COLUMNS.items():
        existing = [
            row[0]
            for row in _rows(
                ch_client,
                f"SELECT name FROM system.columns WHERE database = '{DB}' AND table = '{table}' ORDER BY position",
            )
        ]
        assert [c for c in existing if c in columns] == list(columns), table


def test_every_inserted_table_has_ttl_a_dedup_window_and_wide_merges(ch_client: Any) -> None:
    migrate(ch_client, database=DB, ttl_days=9)
    for table in ALL_TABLES - {"prices"}:
        ddl = _rows(ch_client, f"SHOW CREATE TABLE {DB}.{table}")[0][0]
        assert "toIntervalDay(9)" in ddl, table
        assert "non_replicated_deduplication_window = 1000" in ddl, table
        assert "merge_selector_base = 10" in ddl, table  # migration 0013: fewer merges per stored row
    assert "non_replicated_deduplication_window = 1000" in _rows(ch_client, f"SHOW CREATE TABLE {DB}.prices")[0][0]


def test_ttl_zero_keeps_data_forever() -> None:
    assert "toIntervalDay" not in render(ttl_days=0)
    assert "toIntervalDay(30)" in render()


@pytest.mark.parametrize("bad", ["fo-o", "1abc", "a b", "x`; DROP TABLE y", ""])
def test_identifiers_from_config_are_validated(bad: str) -> None:
    with pytest.raises(SchemaConfigError):
        render(database=bad)
    with pytest.raises(SchemaConfigError):
        render(cluster=bad)


def test_negative_ttl_is_refused() -> None:
    with pytest.raises(SchemaConfigError):
        SchemaOptions(ttl_days=-1)


def test_cluster_rendering() -> None:
    sql = render(database="obs", cluster="prod", ttl_days=14)
    statements = [s for s in sql.split(";\n") if s.strip() and not s.strip().startswith("--")]
    creates = [s for s in statements if "CREATE" in s]
    assert creates
    assert all("ON CLUSTER `prod`" in s for s in creates)
    assert "CREATE TABLE IF NOT EXISTS `obs`.`otel_traces_local` ON CLUSTER `prod`" in sql
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in sql
    assert "ENGINE = MergeTree()" not in sql
    assert (
        "CREATE TABLE IF NOT EXISTS `obs`.`otel_traces` ON CLUSTER `prod` AS `obs`.`otel_traces_local` "
        "ENGINE = Distributed(`prod`, `obs`, `otel_traces_local`, cityHash64(TraceId))"
    ) in sql
    assert "ReplicatedAggregatingMergeTree(" in sql
    # Views read and write local tables on each shard; prices are one full replica set across shards.
    assert "TO `obs`.`llm_calls_local`" in sql
    assert "FROM `obs`.`otel_traces_local`" in sql
    assert "ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{replica}')" in sql
    assert "`obs`.`prices_local`" not in sql
    assert "replicated_deduplication_window = 1000" in sql
    assert "non_replicated" not in sql
    assert "toIntervalDay(14)" in sql
    # A column added later reaches the shards' tables and the Distributed table queries go through.
    for table in ("`obs`.`llm_calls_local`", "`obs`.`llm_calls`"):
        assert f"ALTER TABLE {table} ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS trace_key" in sql
    # Table settings go to the shards' tables (a Distributed table has no merges).
    assert "ALTER TABLE `obs`.`otel_traces_local` ON CLUSTER `prod` MODIFY SETTING merge_selector_base = 10" in sql


def test_upgrade_adds_trace_key_and_rows_written_before_compute_it(
    ch_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at migration 0008 with data: the upgrade applies only the later ones, and rows written before it
    have a trace_key when read (computed from trace_id), so the dashboards' trace ranking covers old data too."""
    everything = migrate_module.load_migrations()
    monkeypatch.setattr(migrate_module, "load_migrations", lambda: [m for m in everything if m.version <= 8])
    migrate(ch_client)
    ch_client.command("INSERT INTO firsttoken.llm_calls (timestamp, trace_id) VALUES (now64(9), 'abc')")
    monkeypatch.setattr(migrate_module, "load_migrations", lambda: everything)
    assert migrate(ch_client) == [
        "0009_llm_calls_trace_key",
        "0010_llm_calls_mv_price_join",
        "0011_llm_calls_mv_layers",
        "0012_llm_calls_mv_stored_map",
        "0013_merge_selector_base",
    ]
    ch_client.command("INSERT INTO firsttoken.llm_calls (timestamp, trace_id) VALUES (now64(9), 'def')")
    rows = ch_client.query(
        "SELECT trace_id, trace_key = cityHash64(trace_id) FROM firsttoken.llm_calls ORDER BY trace_id"
    ).result_rows
    assert rows == [("abc", True), ("def", True)]


def test_single_node_rendering_has_no_cluster_artifacts() -> None:
    sql = render()
    assert "ON CLUSTER" not in sql
    assert "_local" not in sql
    assert "Distributed" not in sql
    assert "Replicated" not in sql


def test_retention_follows_the_configured_ttl_on_an_existing_database(ch_client: Any) -> None:
    """Lowering FIRSTTOKEN_TTL_DAYS on a database created with 30 days shortens every table's TTL and old rows go;
    0 keeps data forever; an unchanged setting changes nothing."""
    from firsttoken_collector.schema import apply_retention
    from firsttoken_collector.schema.retention import current_ttl_days, ttl_tables

    migrate(ch_client)
    tables = ttl_tables()
    assert {"otel_traces", "llm_calls", "llm_calls_1m", "tasks", "tool_calls", "otel_logs"} <= set(tables)
    ch_client.command(
        "INSERT INTO firsttoken.llm_calls (timestamp, trace_id) VALUES (now64(9) - INTERVAL 10 DAY, 'old'),"
        " (now64(9), 'new')"
    )
    changes = apply_retention(ch_client, ttl_days=7)
    assert {(c.table, c.old_days, c.new_days) for c in changes} == {(name, 30, 7) for name in tables}
    options = SchemaOptions()
    assert {current_ttl_days(ch_client, options, name) for name in tables} == {7}
    ch_client.command("OPTIMIZE TABLE firsttoken.llm_calls FINAL")
    assert [r[0] for r in ch_client.query("SELECT trace_id FROM firsttoken.llm_calls").result_rows] == ["new"]
    assert apply_retention(ch_client, ttl_days=7) == []
    assert len(apply_retention(ch_client, ttl_days=0)) == len(tables)
    assert {current_ttl_days(ch_client, options, name) for name in tables} == {0}
    assert migrate(ch_client, ttl_days=None) == []  # no setting: the retention chosen earlier stays
    assert {current_ttl_days(ch_client, options, name) for name in tables} == {0}
