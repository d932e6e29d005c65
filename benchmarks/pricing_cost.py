"""Per-call cost of pricing an LLM call: `Pricer.price` (cached path) next to `genai_prices.calc_price`.

Both are timed in the same run, in interleaved blocks (timings on a shared VM drift by 2x within minutes), and
summarised by the minimum (the machine's quiet floor) and the median block. `Pricer.price` is measured after the
first call for each key, i.e. on the path every call after the first takes: cache lookup + integer arithmetic +
building the Cost. `calc_price` is given the same usage (as genai-prices' Usage, built once outside the timing).

Run: python benchmarks/pricing_cost.py [--blocks 15] [--calls 20000] [--calc-calls 500]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import NamedTuple

from genai_prices import Usage, calc_price

from firsttoken.pricing import DEFAULT, Pricer, PricingContext, Tokens


class Case(NamedTuple):
    name: str
    provider: str
    provider_id: str
    model: str
    tokens: Tokens
    context: PricingContext
    price_context: dict[str, str] | None


CASES = [
    Case(
        "anthropic haiku 4.5, cache read + 5m/1h writes",
        "anthropic",
        "anthropic",
        "claude-haiku-4-5-20251001",
        Tokens(10_000, 500, 8_000, 1_000, 500, 500),
        DEFAULT,
        None,
    ),
    Case(
        "openai gpt-5-mini dated id, cached input",
        "openai",
        "openai",
        "gpt-5-mini-2025-08-07",
        Tokens(10_000, 1_000, 6_000, reasoning_tokens=400),
        DEFAULT,
        None,
    ),
    Case(
        "anthropic sonnet 4.5 over 200K (tier)",
        "anthropic",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        Tokens(250_000, 2_000, 150_000, 10_000, 6_000, 4_000),
        DEFAULT,
        None,
    ),
    Case(
        "openai gpt-5-mini flex (non-default context)",
        "openai",
        "openai",
        "gpt-5-mini",
        Tokens(10_000, 1_000, 6_000),
        PricingContext(service_tier="flex"),
        {"service_tier": "flex"},
    ),
]


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def genai_usage(tokens: Tokens) -> Usage:
    values = {
        "input_tokens": tokens.input_tokens,
        "output_tokens": tokens.output_tokens,
        "cache_read_tokens": tokens.cache_read_tokens,
        "cache_write_tokens": tokens.cache_write_tokens,
        "cache_write_5m_tokens": tokens.cache_write_5m_tokens,
        "cache_write_1h_tokens": tokens.cache_write_1h_tokens,
    }
    return Usage(**{key: value for key, value in values.items() if value is not None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20_000, help="Pricer.price calls per block")
    parser.add_argument("--calc-calls", type=int, default=500, help="calc_price calls per block")
    args = parser.parse_args()

    pricer = Pricer()
    rows = []
    for case in CASES:
        usage = genai_usage(case.tokens)
        ours = pricer.price(case.provider, case.model, case.tokens, case.context)  # resolves: the one slow call
        theirs = calc_price(usage, case.model, provider_id=case.provider_id, price_context=case.price_context)
        assert ours is not None
        assert abs(ours.total_usd - float(theirs.total_price)) <= 1e-12, (case.name, ours, theirs)

        def price(case: Case = case) -> object:
            return pricer.price(case.provider, case.model, case.tokens, case.context)

        def calc(case: Case = case, usage: Usage = usage) -> object:
            return calc_price(usage, case.model, provider_id=case.provider_id, price_context=case.price_context)

        pricer_us: list[float] = []
        calc_us: list[float] = []
        for _ in range(args.blocks):
            pricer_us.append(per_call_us(price, args.calls))
            calc_us.append(per_call_us(calc, args.calc_calls))
        rows.append((case.name, pricer_us, calc_us))

    tokens_us = [per_call_us(lambda: Tokens(10_000, 500, 8_000, 1_000, 500, 500), args.calls) for _ in range(5)]

    print(f"{'case':48} {'Pricer.price us (min / median)':>32} {'calc_price us (min / median)':>30} {'ratio':>7}")
    for name, pricer_us, calc_us in rows:
        ours_min, ours_med = min(pricer_us), statistics.median(pricer_us)
        theirs_min, theirs_med = min(calc_us), statistics.median(calc_us)
        print(
            f"{name:48} {ours_min:>15.2f} / {ours_med:<14.2f} {theirs_min:>13.1f} / {theirs_med:<14.1f}"
            f" {theirs_med / ours_med:>6.0f}x"
        )
    print(f"(building the Tokens for a call, done by the provider plug-in: {min(tokens_us):.2f} us)")
    print(f"blocks={args.blocks} calls/block: Pricer.price={args.calls} calc_price={args.calc_calls}")


if __name__ == "__main__":
    main()
