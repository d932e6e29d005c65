"""Command line entry point: serve the fake provider until Ctrl-C or SIGTERM.

`firsttoken fake-provider` and `python -m firsttoken.testing.fake_provider` both
land in `run`, so a demo or a benchmark can point the real SDKs at a local,
deterministic, latency-controlled API with two environment variables.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from firsttoken.testing.fake_provider.config import FakeProviderConfig
from firsttoken.testing.fake_provider.core import FakeProvider
from firsttoken.testing.fake_provider.http_server import FakeProviderServer


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so the project CLI can reuse its options)."""
    parser = argparse.ArgumentParser(
        prog="firsttoken fake-provider",
        description="Serve a local fake of the Anthropic and OpenAI APIs for tests, demos and benchmarks.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port, 0 for any free port (default: %(default)s)")
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="default time to first token, ms")
    parser.add_argument("--token-ms", type=float, default=0.0, help="default delay between output tokens, ms")
    parser.add_argument("--output-tokens", type=int, default=8, help="default generated text length in tokens")
    parser.add_argument(
        "--cache-min-tokens", type=int, default=0, help="shortest cacheable prompt prefix in tokens (default: 0)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible ids and outputs")
    return parser


def run(argv: list[str] | None = None) -> int:
    """Parse `argv`, serve until interrupted, return the process exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: report it as an exit code, like the rest
        return exc.code if isinstance(exc.code, int) else 2
    try:
        config = FakeProviderConfig(
            ttft_ms=args.ttft_ms,
            token_ms=args.token_ms,
            output_tokens=args.output_tokens,
            cache_min_tokens=args.cache_min_tokens,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"fake-provider: {exc}", file=sys.stderr)
        return 2
    server = FakeProviderServer(FakeProvider(config), host=args.host, port=args.port)
    try:
        server.start()
    except OSError as exc:
        print(f"fake-provider: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    restore = _install_signal_handlers(stop)
    try:
        print(f"fake provider listening on {server.url}")
        print(f"  ANTHROPIC_BASE_URL={server.anthropic_base_url}")
        print(f"  OPENAI_BASE_URL={server.openai_base_url}")
        print("press Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        server.stop()
    return 0


def _install_signal_handlers(stop: threading.Event) -> Callable[[], None]:
    """Route SIGINT/SIGTERM to `stop` (main thread only); returns a function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
