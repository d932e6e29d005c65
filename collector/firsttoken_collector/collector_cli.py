"""`firsttoken collector`, `firsttoken db migrate`, `firsttoken prices sync`: argument parsing and exit codes.

Exit codes: 0 ok, 2 bad usage or configuration (the message names the setting), 3 stopped with data left in the
write-ahead log (replayed at the next start), 4 ClickHouse unreachable or refused the statement, 5 an output
directory cannot be written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from firsttoken_collector.config import CollectorConfigError, load_config

EXIT_CONFIG = 2
EXIT_UNDRAINED = 3
EXIT_CLICKHOUSE = 4
EXIT_OUTPUT = 5


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clickhouse-url",
        help="http(s)://user:pass@host:port/db (default: embedded chDB; env FIRSTTOKEN_CLICKHOUSE_URL)",
    )
    parser.add_argument("--data-dir", help="write-ahead log and embedded ClickHouse (env FIRSTTOKEN_DATA_DIR)")
    parser.add_argument("--database", help="ClickHouse database (default firsttoken; env FIRSTTOKEN_DATABASE)")


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run_collector(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="firsttoken collector", description="Receive OTLP and store it in ClickHouse."
    )
    _common(parser)
    parser.add_argument("--host", help="bind address (default 127.0.0.1; env FIRSTTOKEN_COLLECTOR_HOST)")
    parser.add_argument("--port", type=int, dest="http_port", help="OTLP/HTTP port (default 4318; 0 picks a free one)")
    parser.add_argument("--grpc-port", type=int, help="OTLP/gRPC port (default 4317; -1 disables gRPC)")
    parser.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback bind without FIRSTTOKEN_COLLECTOR_TOKEN"
    )
    parser.add_argument("--ttl-days", type=int, help="keep data this many days (applied by migrations)")
    parser.add_argument("--no-migrate", action="store_true", help="do not apply schema migrations at start")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to flush on SIGTERM (default 10)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        config = load_config(
            clickhouse_url=args.clickhouse_url,
            data_dir=args.data_dir,
            database=args.database,
            host=args.host,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            insecure=args.insecure or None,
            ttl_days=args.ttl_days,
            no_migrate=args.no_migrate or None,
        )
    except CollectorConfigError as exc:
        print(f"firsttoken collector: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from firsttoken_collector.app import Collector

    try:
        return Collector(config).serve_forever(grace=args.grace)
    except CollectorConfigError as exc:
        print(f"firsttoken collector: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"firsttoken collector: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def run_db(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="firsttoken db", description="Manage the ClickHouse schema.")
    sub = parser.add_subparsers(dest="action", required=True)
    migrate_parser = sub.add_parser("migrate", help="apply versioned schema migrations (idempotent)")
    _common(migrate_parser)
    migrate_parser.add_argument("--cluster", help="ON CLUSTER name: Replicated engines and Distributed tables")
    migrate_parser.add_argument("--ttl-days", type=int, help="keep data this many days")
    migrate_parser.add_argument("--print", action="store_true", dest="print_only", help="print the SQL, run nothing")
    args = parser.parse_args(argv)
    try:
        config = load_config(clickhouse_url=args.clickhouse_url, data_dir=args.data_dir, database=args.database)
    except CollectorConfigError as exc:
        print(f"firsttoken db migrate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from firsttoken_collector.schema import MigrationChecksumError, apply_retention, migrate, render

    database = config.clickhouse.database
    ttl_days = args.ttl_days if args.ttl_days is not None else config.ttl_days
    if args.print_only:
        print(render(database=database, ttl_days=ttl_days, cluster=args.cluster))
        return 0
    from firsttoken_collector.storage import connect

    try:
        client = connect(config.clickhouse)
    except Exception as exc:
        print(
            f"firsttoken db migrate: cannot reach ClickHouse ({config.clickhouse.describe()}): {exc}", file=sys.stderr
        )
        return EXIT_CLICKHOUSE
    try:
        applied = migrate(client, database=database, ttl_days=ttl_days, cluster=args.cluster)
        changed = (
            apply_retention(client, database=database, ttl_days=ttl_days, cluster=args.cluster)
            if ttl_days is not None
            else []
        )
    except (MigrationChecksumError, ValueError) as exc:
        print(f"firsttoken db migrate: {exc}", file=sys.stderr)
        return EXIT_CLICKHOUSE
    except Exception as exc:
        print(f"firsttoken db migrate: ClickHouse refused a migration: {exc}", file=sys.stderr)
        return EXIT_CLICKHOUSE
    finally:
        client.close()
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")
    for change in changed:
        print(f"retention changed, {change}")
    return 0


def run_prices(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="firsttoken prices", description="Price data in ClickHouse.")
    sub = parser.add_subparsers(dest="action", required=True)
    sync_parser = sub.add_parser("sync", help="reload the prices table from the installed genai-prices data")
    _common(sync_parser)
    args = parser.parse_args(argv)
    try:
        config = load_config(clickhouse_url=args.clickhouse_url, data_dir=args.data_dir, database=args.database)
    except CollectorConfigError as exc:
        print(f"firsttoken prices sync: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from firsttoken_collector.schema.prices import sync_prices
    from firsttoken_collector.storage import connect

    try:
        client = connect(config.clickhouse)
        try:
            rows = sync_prices(client, config.clickhouse.database)
        finally:
            client.close()
    except Exception as exc:
        print(f"firsttoken prices sync: {exc}", file=sys.stderr)
        return EXIT_CLICKHOUSE
    print(f"loaded {rows} price rows into {config.clickhouse.database}.prices")
    return 0


_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> int:
    """`90s`, `30m`, `1h`, `2d` -> seconds (a clear error for anything else)."""
    value = text.strip().lower()
    if len(value) >= 2 and value[-1] in _DURATION and value[:-1].isdigit() and int(value[:-1]) > 0:
        return int(value[:-1]) * _DURATION[value[-1]]
    raise argparse.ArgumentTypeError(f"expected a duration like 30m, 1h or 2d, got {text!r}")


def run_report(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="firsttoken report", description="The on-call numbers for a recent window.")
    _common(parser)
    parser.add_argument("--since", type=parse_since, default=3600, help="window, e.g. 30m, 1h, 2d (default 1h)")
    parser.add_argument("--budget-ms", type=float, default=400.0, help="TTFT budget for the over-budget share")
    args = parser.parse_args(argv)
    try:
        config = load_config(clickhouse_url=args.clickhouse_url, data_dir=args.data_dir, database=args.database)
    except CollectorConfigError as exc:
        print(f"firsttoken report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from firsttoken_collector.demo import summary
    from firsttoken_collector.query_api import QueryError, open_reader

    logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)  # the error below says it once, clearly
    try:
        reader = open_reader(config)
        try:
            rows = summary.render(reader, summary.console(), since_s=args.since, budget_ms=args.budget_ms)
        finally:
            reader.close()
    except QueryError as exc:
        print(f"firsttoken report: {exc}", file=sys.stderr)
        return EXIT_CLICKHOUSE
    if not rows["models"]:
        print(f"no LLM calls in the last {summary.window(args.since)}", file=sys.stderr)
    return 0


def run_export(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="firsttoken export",
        description="The weekly review's figures, with the previous window and the change, as files.",
        epilog="Exit codes: 0 written (also for an empty window), 2 bad arguments or configuration, "
        "4 ClickHouse unreachable, 5 cannot write the output directory.",
    )
    _common(parser)
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the last complete week)")
    when.add_argument("--from", dest="start", help="window start (date or ISO datetime, UTC); needs --to")
    parser.add_argument("--to", dest="end", help="window end (exclusive)")
    parser.add_argument("--service", default="", help="only this service (default: all)")
    parser.add_argument("--format", default="csv,parquet,json,html", help="any of csv,parquet,json,html")
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args(argv)

    from firsttoken_collector.query_api import QueryError, open_reader
    from firsttoken_collector.review import export, figures, weeks

    try:
        formats = export.parse_formats(args.format)
        if args.start or args.end:
            if not (args.start and args.end):
                raise weeks.WindowError("--from and --to go together")
            window = weeks.explicit(args.start, args.end)
        else:
            window = weeks.iso_week(args.week) if args.week else weeks.last_complete_week()
        config = load_config(clickhouse_url=args.clickhouse_url, data_dir=args.data_dir, database=args.database)
    except (export.ExportError, weeks.WindowError, CollectorConfigError) as exc:
        print(f"firsttoken export: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)
    try:
        reader = open_reader(config)
        try:
            review = figures.compute(reader, window, args.service)
        finally:
            reader.close()
    except QueryError as exc:
        print(f"firsttoken export: {exc}", file=sys.stderr)
        return EXIT_CLICKHOUSE
    try:
        paths = export.write(review, Path(args.out), formats)
    except OSError as exc:
        print(f"firsttoken export: cannot write to {args.out}: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    if review.empty:
        print(
            f"firsttoken export: no LLM calls, tool outcomes or tasks in {window.label}; wrote an empty review",
            file=sys.stderr,
        )
    for path in paths:
        print(path)
    return 0
