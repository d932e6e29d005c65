"""What ClickHouse's background merges cost per stored span, table by table: the ingest CPU a short throughput run
does not show.

A MergeTree table rewrites its rows every time parts are merged (~5 parts into one, again and again as they grow), so
a span inserted once is rewritten about log5(final part / inserted part) times over its life. The collector's
throughput benchmark runs for seconds, long enough for the first merges only. This prints the CPU of one merge level
for each table the collector fills: N synthetic LLM spans inserted in K batches with merges stopped, then each table
merged into one part (`OPTIMIZE ... FINAL`), its CPU divided by N. Multiply by the merge levels a deployment's part
sizes imply for its sustained merge load.

Then the merge load of sustained ingest, which the table settings decide: the same spans inserted block after block
into a database with the shipped settings and into one with ClickHouse's default `merge_selector_base` (5; the
shipped tables merge ~10 parts at a time, migration 0013), ClickHouse's CPU per span counted until merges settle.

Last, the size of inserts: the same spans inserted ~37,000 and ~92,000 at a time (the collector's batches at
~18,000 spans/s with a 2 s and a 5 s batch delay), ClickHouse's CPU per span until merges settle.

Run: python benchmarks/merge_cost.py [--requests 40] [--batches 5] [--sustained-blocks 40] [--size-spans 1843200]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from typing import Any

import clickhouse_connect

from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.pipeline.batch_writer import join_blocks
from firsttoken_collector.schema import migrate
from firsttoken_collector.synthetic import trace_request
from firsttoken_collector.tables import INSERT_COLUMNS, OTEL_TRACES

SPANS_PER_REQUEST = 512
BOOKKEEPING = frozenset({"schema_migrations", "prices"})  # not written per span


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="requests of 512 LLM spans")
    parser.add_argument("--batches", type=int, default=5, help="inserts (parts) they are split into")
    parser.add_argument("--sustained-blocks", type=int, default=40, help="inserts per database, 0 to skip")
    parser.add_argument(
        "--size-spans", type=int, default=1_843_200, help="spans for the insert-size comparison, 0 to skip"
    )
    args = parser.parse_args()
    rng = random.Random(7)
    payloads = [
        trace_request(rng, SPANS_PER_REQUEST, service="bench")[0].SerializeToString() for _ in range(args.requests)
    ]
    blocks = [decode_request("traces", p, "application/x-protobuf")[0].blocks[OTEL_TRACES] for p in payloads]
    spans = args.requests * SPANS_PER_REQUEST
    with tempfile.TemporaryDirectory(prefix="ft-merge-") as workdir:
        client = clickhouse_connect.get_client(dsn=f"chdb://{workdir}/clickhouse")
        migrate(client, database="firsttoken")
        tables = [
            str(row[0])
            for row in client.query(
                "SELECT name FROM system.tables WHERE database = 'firsttoken' AND engine LIKE '%MergeTree' "
                "ORDER BY name"
            ).result_rows
        ]
        for table in tables:
            client.command(f"SYSTEM STOP MERGES firsttoken.`{table}`")
        per_batch = max(1, args.requests // args.batches)
        for start in range(0, args.requests, per_batch):
            block = join_blocks(blocks[start : start + per_batch])
            client.raw_insert(
                "firsttoken.otel_traces", list(INSERT_COLUMNS[OTEL_TRACES]), insert_block=block.data, fmt=block.fmt
            )
        print(f"{spans:,} LLM spans inserted in {args.batches} parts; one merge of each table into one part:")
        total = 0.0
        for table in tables:
            parts = int(
                client.command(
                    "SELECT count() FROM system.parts WHERE database = 'firsttoken' AND active AND table = {t:String}",
                    parameters={"t": table},
                )
            )
            if parts < 2 or table in BOOKKEEPING:
                continue
            client.command(f"SYSTEM START MERGES firsttoken.`{table}`")
            cpu, wall = _cpu_seconds(), time.perf_counter()
            client.command(f"OPTIMIZE TABLE firsttoken.`{table}` FINAL")
            cpu, wall = _cpu_seconds() - cpu, time.perf_counter() - wall
            total += cpu
            print(f"  {table:<26} {parts} parts  {wall * 1e3:7.0f} ms  CPU {cpu / spans * 1e6:5.1f} us per span")
        print(f"  {'all tables':<26}          CPU {total / spans * 1e6:5.1f} us per span per merge level")
        if args.sustained_blocks:
            sustained(client, blocks, args.sustained_blocks)
        if args.size_spans:
            insert_sizes(client, blocks, args.size_spans)
        client.close()


def _settle(client: Any, database: str, limit: float = 60.0) -> None:
    """Wait until no merge has run in `database` for two seconds (at most `limit`)."""
    deadline = time.perf_counter() + limit
    quiet_since = time.perf_counter()
    while time.perf_counter() < deadline:
        running = int(
            client.command("SELECT count() FROM system.merges WHERE database = {d:String}", parameters={"d": database})
        )
        if running:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since >= 2.0:
            return
        time.sleep(0.25)


def _merged_rows(client: Any) -> int:
    """Rows written by merges so far, all tables (ClickHouse's MergedRows counter)."""
    return int(client.command("SELECT sum(value) FROM system.events WHERE event = 'MergedRows'") or 0)


def _insert_until_settled(client: Any, database: str, block: Any, count: int) -> tuple[float, float, float]:
    """Insert `block` into `database`.otel_traces `count` times, then wait for merges to settle: (ClickHouse CPU per
    span while inserting, CPU per span until settled, both in us; rows written by merges per span)."""
    spans = block.rows * count
    merged, cpu = _merged_rows(client), _cpu_seconds()
    for n in range(count):  # the same block each time, with its own deduplication token (else it is dropped)
        client.raw_insert(
            f"{database}.otel_traces",
            list(INSERT_COLUMNS[OTEL_TRACES]),
            insert_block=block.data,
            fmt=block.fmt,
            settings={"insert_deduplication_token": f"{database}-{n}"},
        )
    inserting = _cpu_seconds() - cpu
    _settle(client, database)
    settled = _cpu_seconds() - cpu
    return inserting / spans * 1e6, settled / spans * 1e6, (_merged_rows(client) - merged) / spans


def sustained(client: Any, blocks: list[Any], count: int) -> None:
    """Each database gets `count` inserts of 16,384 spans (blocks reused); CPU from the first insert until merges
    settle, per span: the shipped settings against merge_selector_base 5."""
    per_insert = join_blocks(blocks[: max(1, 16_384 // SPANS_PER_REQUEST)])
    spans = per_insert.rows * count
    results: dict[str, float] = {}
    for database, base in (("shipped", None), ("base5", 5)):
        migrate(client, database=database)
        if base is not None:
            for (table,) in client.query(
                "SELECT name FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree'",
                parameters={"d": database},
            ).result_rows:
                if table not in BOOKKEEPING:
                    client.command(f"ALTER TABLE {database}.`{table}` MODIFY SETTING merge_selector_base = {base}")
        _, results[database], rewritten = _insert_until_settled(client, database, per_insert, count)
        parts = int(
            client.command(
                "SELECT count() FROM system.parts WHERE database = {d:String} AND active AND table = 'otel_traces'",
                parameters={"d": database},
            )
        )
        print(f"  sustained, {database:<8}: {spans:,} spans in {count} inserts, ClickHouse CPU incl. merges "
              f"{results[database]:5.1f} us per span; rows merged per span {rewritten:.1f}; "
              f"otel_traces active parts {parts}")  # fmt: skip
    print(f"  sustained: shipped / default merge_selector_base = {results['shipped'] / results['base5']:.2f}")


def insert_sizes(client: Any, blocks: list[Any], total: int) -> None:
    """ClickHouse CPU per span, merges included until they settle, for the same number of spans inserted ~37,000 and
    ~92,000 at a time: the collector's batches at ~18,000 spans/s with a 2 s and a 5 s batch delay. Every insert pays
    the views' planning, and every part is merged again later, so fewer, larger inserts cost less per span."""
    results: dict[int, float] = {}
    for requests in (72, 180):
        database = f"insert{requests}"
        migrate(client, database=database)
        block = join_blocks([blocks[i % len(blocks)] for i in range(requests)])
        count = max(2, total // block.rows)
        inserting, results[requests], rewritten = _insert_until_settled(client, database, block, count)
        print(f"  inserts of {block.rows:,} spans: {count} inserts, ClickHouse CPU {inserting:5.1f} "
              f"us per span while inserting, {results[requests]:5.1f} with merges settled; "
              f"rows merged per span {rewritten:.1f}")  # fmt: skip
        client.command(f"DROP DATABASE {database} SYNC")
    print(f"  inserts of ~92,000 / of ~37,000 spans = {results[180] / results[72]:.2f}")


if __name__ == "__main__":
    main()
