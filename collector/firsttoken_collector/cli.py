"""The `firsttoken` command.

Subcommands are looked up lazily, so `firsttoken fake-provider` works on the base install (standard library only)
and the collector's heavier dependencies load only for the commands that need them. Built so far: `collector`,
`db migrate`, `prices sync`, `demo`, `report`, `export`, `fake-provider`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

Command = Callable[[list[str]], int]


def _fake_provider(argv: list[str]) -> int:
    from firsttoken.testing.fake_provider.cli import run

    return run(argv)


def _collector(argv: list[str]) -> int:
    from firsttoken_collector.collector_cli import run_collector

    return run_collector(argv)


def _db(argv: list[str]) -> int:
    from firsttoken_collector.collector_cli import run_db

    return run_db(argv)


def _prices(argv: list[str]) -> int:
    from firsttoken_collector.collector_cli import run_prices

    return run_prices(argv)


def _report(argv: list[str]) -> int:
    from firsttoken_collector.collector_cli import run_report

    return run_report(argv)


def _export(argv: list[str]) -> int:
    from firsttoken_collector.collector_cli import run_export

    return run_export(argv)


def _demo(argv: list[str]) -> int:
    from firsttoken_collector.demo.run import run

    return run(argv)


COMMANDS: dict[str, tuple[str, Command]] = {
    "demo": ("run the whole pipeline on this machine: fake provider, real SDKs, collector, summary", _demo),
    "collector": ("receive OTLP (HTTP :4318, gRPC :4317) and store it in ClickHouse", _collector),
    "report": ("the on-call numbers for a recent window, as terminal tables (`--since 1h`)", _report),
    "export": ("the weekly review as CSV/Parquet/JSON/HTML (`export --week 2026-W47 --out DIR`)", _export),
    "db": ("manage the ClickHouse schema (`db migrate`)", _db),
    "prices": ("load genai-prices data into ClickHouse (`prices sync`)", _prices),
    "fake-provider": ("serve a local fake of the Anthropic and OpenAI APIs", _fake_provider),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="firsttoken",
        description="OpenTelemetry-native observability for LLM traffic on the Anthropic and OpenAI SDKs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, _) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        parser.print_usage(sys.stderr)
        print(f"firsttoken: unknown command {name!r}; known: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return COMMANDS[name][1](rest)


if __name__ == "__main__":
    raise SystemExit(main())
