"""`firsttoken demo [--seed N] [--scale X] [--data-dir DIR]`: the whole pipeline on one machine.

Starts the fake provider and an embedded collector in this process, runs the three demo services (voice agent,
classifier, planner) as separate processes that export OTLP to the collector exactly as deployed services would,
shows their progress, waits until every span is in ClickHouse, prints the on-call summary, writes this week's review
(the files `firsttoken export` writes) and says how to look at the same data in Grafana.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from firsttoken_collector.demo import summary
from firsttoken_collector.demo.workloads import SERVICES
from firsttoken_collector.query_api import Reader

DEFAULT_DATA_DIR = ".firsttoken-demo"


def _spawn(name: str, fake_url: str, collector_url: str, seed: int, scale: float) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        {
            "OTEL_SERVICE_NAME": name,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector_url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "ANTHROPIC_OPEN_TELEMETRY": "false",
        }
    )
    return subprocess.Popen(  # noqa: S603 - our own module, with our own interpreter
        [sys.executable, "-m", "firsttoken_collector.demo.service", name, fake_url, str(seed), str(scale)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="firsttoken demo", description="Run the whole pipeline on this machine.")
    parser.add_argument("--seed", type=int, default=7, help="makes the workload repeatable (default 7)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the amount of traffic (default 1)")
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR, help=f"where the data goes (default {DEFAULT_DATA_DIR})"
    )
    parser.add_argument("--budget-ms", type=float, default=400.0, help="voice TTFT budget for the summary")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    console = summary.console()
    from firsttoken.testing import FakeProviderConfig, FakeProviderServer
    from firsttoken_collector.app import Collector
    from firsttoken_collector.config import CollectorConfigError, load_config
    from firsttoken_collector.query_api import open_reader

    try:
        config = load_config(env={}, data_dir=args.data_dir, http_port=0, grpc_port=-1)
    except CollectorConfigError as exc:
        console.print(f"[red]firsttoken demo: {exc}[/red]")
        return 2
    started = time.monotonic()
    collector = Collector(config)
    with console.status("starting the fake provider and an embedded collector (ClickHouse in-process)..."):
        collector.start()
    fake = FakeProviderServer(config=FakeProviderConfig(seed=args.seed)).start()
    try:
        collector_url = f"http://127.0.0.1:{collector.http_port}"
        console.print(
            f"fake provider on {fake.url}; collector on {collector_url} -> embedded ClickHouse in {config.data_dir}"
        )
        children = {name: _spawn(name, fake.url, collector_url, args.seed, args.scale) for name in SERVICES}
        failures = _follow(console, children, args.scale)
        if failures:
            for name, error in failures.items():
                console.print(f"[red]service {name} failed:[/red]\n{error[-2000:]}")
            return 1
        with console.status("waiting for every span to reach ClickHouse..."):
            assert collector.pipeline is not None
            collector.pipeline.wait_idle(60)
        reader = open_reader(config)
        rows = summary.render(reader, console, since_s=3600, budget_ms=args.budget_ms)
        calls = sum(int(row["calls"]) for row in rows["models"])
        with console.status("writing this week's review (CSV, Parquet, JSON, HTML)..."):
            written = _weekly_export(reader, Path(config.data_dir) / "export")
        console.print("\nThis week's review, as `firsttoken export --week` writes it every Monday:")
        for path in written:
            console.print(f"  {path}")
        console.print(
            f"\n[bold]{calls} LLM calls[/bold] from 3 services went through instrument() -> OTLP -> the collector -> "
            f"ClickHouse in {time.monotonic() - started:.0f} s."
        )
    finally:
        fake.stop()
        collector.stop()
    console.print(
        "Next: the data stays in "
        f"{config.data_dir}. Query it with `firsttoken collector --data-dir {args.data_dir}` running "
        "(POST /v1/query), or see dashboards with `docker compose up -d` (Grafana on http://127.0.0.1:3000) and point "
        "services at OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 — see docs/deployment.md."
    )
    return 0


def _weekly_export(reader: Reader, out_dir: Path) -> list[Path]:
    """The demo's traffic is in the current ISO week: export that week the way the Monday cron job would."""
    from firsttoken_collector.review import export, figures, weeks

    review = figures.compute(reader, weeks.week_of(dt.datetime.now(dt.timezone.utc)))
    return export.write(review, out_dir, export.parse_formats("csv,parquet,json,html"))


def _follow(console: Console, children: dict[str, subprocess.Popen[str]], scale: float) -> dict[str, str]:
    """Drive one progress bar per service from the children's tick lines; return the failures' stderr."""
    failures: dict[str, str] = {}
    with Progress(
        TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        bars = {
            name: progress.add_task(name, total=max(1, round(units * scale))) for name, (_, units) in SERVICES.items()
        }
        errors: dict[str, list[str]] = {name: [] for name in children}

        def drain(name: str, process: subprocess.Popen[str]) -> None:
            assert process.stdout is not None
            assert process.stderr is not None
            stderr = threading.Thread(target=lambda: errors[name].extend(process.stderr or []), daemon=True)
            stderr.start()
            for line in process.stdout:
                if line.startswith("tick"):
                    progress.advance(bars[name])
            process.wait()
            stderr.join(5)

        threads = [threading.Thread(target=drain, args=item, daemon=True) for item in children.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for name, process in children.items():
        if process.returncode != 0:
            failures[name] = "".join(errors[name])
    return failures
