"""One demo service as its own process, as in production: `firsttoken.instrument()` configured only by the
standard `OTEL_*` variables the demo sets, exporting OTLP to the demo's collector. Prints one line per unit of work
so the parent can drive its progress bar.

Run by the demo: python -m firsttoken_collector.demo.service <name> <fake provider url> <seed> <scale>
"""

from __future__ import annotations

import sys

import firsttoken
from firsttoken_collector.demo.workloads import run_service


def main(argv: list[str]) -> int:
    name, base_url, seed, scale = argv
    firsttoken.instrument()

    def tick() -> None:
        print("tick", flush=True)

    run_service(name, base_url, int(seed), float(scale), tick)
    return 0 if firsttoken.shutdown() else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
