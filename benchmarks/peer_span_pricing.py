"""Pricing peers' spans in ClickHouse: llm_calls_mv's query before (migration 0005) and after (0010-0012), same rows.

Peers' spans (OpenLLMetry, the Anthropic SDK's own tracing, OpenTelemetry GenAI instrumentations) carry no cost, so
the view looks a price up. 0005 joined the provider's whole rule list, prices included, onto every such row; 0010
joins only the match clauses and then the chosen rule's prices; 0011 is 0010 written as layers ClickHouse plans
faster; 0012 is 0011 reading the stored attribute map instead of a cast copy. Each query runs in its own process
(peak RSS is per process) over the same N synthetic LLM spans with their `firsttoken.cost.*` attributes removed,
inserted into `otel_traces` of an embedded ClickHouse with the view detached. Printed: seconds, peak RSS growth, and
whether the queries return the same rows.

Run: python benchmarks/peer_span_pricing.py [--spans 4000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import clickhouse_connect

from firsttoken_collector.otlp.decode import decode_protobuf
from firsttoken_collector.schema import migrate
from firsttoken_collector.schema.migrate import load_migrations
from firsttoken_collector.schema.render import SchemaOptions, render_template
from firsttoken_collector.synthetic import trace_request
from firsttoken_collector.tables import INSERT_COLUMNS


def view_query(version: int) -> str:
    """The SELECT of llm_calls_mv as migration `version` defines it."""
    (migration,) = [m for m in load_migrations() if m.version == version]
    sql = render_template(migration.template, SchemaOptions())
    marker = "CREATE MATERIALIZED VIEW" if version == 5 else "MODIFY QUERY"
    start = sql.index("SELECT", sql.index(marker))
    return sql[start:].strip().rstrip(";")


def build(path: Path, spans: int) -> None:
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    migrate(client)
    client.command("DETACH TABLE firsttoken.llm_calls_mv")
    request, _ = trace_request(random.Random(1), spans)
    for scope_spans in request.resource_spans[0].scope_spans:
        for span in scope_spans.spans:
            kept = [kv for kv in span.attributes if not kv.key.startswith("firsttoken.cost")]
            del span.attributes[:]
            span.attributes.extend(kept)
    block = decode_protobuf("traces", request.SerializeToString()).blocks["otel_traces"]
    client.raw_insert(
        "firsttoken.otel_traces", list(INSERT_COLUMNS["otel_traces"]), insert_block=block.data, fmt=block.fmt
    )
    client.close()


def measure(path: Path, version: int) -> None:
    """Child process: run one version's query, print seconds, RSS growth and a digest of the rows."""
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    client.command("SELECT 1")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    digest = "count(), countIf(priced), sum(cityHash64(span_id, cost_usd, price_model_id))"
    rows = client.query(f"SELECT {digest} FROM ({view_query(version)})").result_rows[0]
    seconds = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": grown, "rows": [str(v) for v in rows]}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=4000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        measure(Path(args.child[0]), int(args.child[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="firsttoken-peer-pricing-") as tmp:
        path = Path(tmp) / "ch"
        build(path, args.spans)
        results = {}
        for version in (5, 10, 11, 12):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(path), str(version)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[version] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{args.spans:,} peer spans (no cost attributes), llm_calls_mv's query over them:")
    for version, label in (
        (5, "0005: whole rule list per row"),
        (10, "0010: clauses, then the chosen rule"),
        (11, "0011: 0010 in layers"),
        (12, "0012: 0011 on the stored map (current)"),
    ):
        r = results[version]
        print(f"  {label:<38} {r['seconds']:7.2f} s   peak RSS +{r['rss_mb']:,.0f} MB   priced {r['rows'][1]}")
    same = results[5]["rows"] == results[10]["rows"] == results[11]["rows"] == results[12]["rows"]
    speedup = results[5]["seconds"] / results[12]["seconds"]
    print(f"  same rows: {same}; the current view's query is {speedup:.1f}x faster than 0005's")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
