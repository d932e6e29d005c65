"""What firsttoken adds to an SDK call, next to the Anthropic SDK's own tracing and OpenLLMetry, in one run.

All configurations talk to the same in-process transport (canned bytes, no network) and are measured in interleaved
rounds, so machine noise hits them alike; each figure is the median over rounds of the per-call mean. Per-chunk cost
is the slope between a short and a long stream, so fixed per-call cost cancels out. Memory: RSS over 100,000
instrumented calls, and the number of spans still alive afterwards.

Run: python benchmarks/sdk_overhead.py [--rounds 15] [--calls 300] [--memory-calls 100000] [--strict]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import anthropic
import openai
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import firsttoken
from _canned import ANTHROPIC_MODEL, OPENAI_MODEL, CannedTransport

FLOOR_CALL_US = 40.0
FLOOR_CHUNK_US = 2.0
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


class NullExporter(SpanExporter):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


EXPORTER = NullExporter()
TRACER_PROVIDER = TracerProvider()
TRACER_PROVIDER.add_span_processor(BatchSpanProcessor(EXPORTER))
trace.set_tracer_provider(TRACER_PROVIDER)
METRIC_READER = InMemoryMetricReader()
METER_PROVIDER = MeterProvider(metric_readers=[METRIC_READER])


def _openllmetry() -> tuple[Any, Any] | None:
    try:
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    except ImportError:
        return None
    return AnthropicInstrumentor(), OpenAIInstrumentor()


class Config:
    """One way of running the SDKs: how clients are built and what is instrumented while it runs."""

    def __init__(self, name: str, anthropic_otel: Any, setup: Callable[[], None], teardown: Callable[[], None]):
        self.name = name
        self.anthropic_otel = anthropic_otel
        self.setup = setup
        self.teardown = teardown


def _noop() -> None:
    return None


def _ft_on() -> None:
    firsttoken.instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)


def configs() -> list[Config]:
    out = [
        Config("bare SDK", False, _noop, _noop),
        # SDK tracing left at its default (on): firsttoken replaces the SDK's span with its own.
        Config("firsttoken", None, _ft_on, firsttoken.uninstrument),
        Config("anthropic SDK tracing", {"tracer_provider": TRACER_PROVIDER}, _noop, _noop),
    ]
    peers = _openllmetry()
    if peers is not None:
        a, o = peers

        def on() -> None:
            a.instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)
            o.instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)

        def off() -> None:
            a.uninstrument()
            o.uninstrument()

        out.append(Config("OpenLLMetry", False, on, off))
    return out


def clients(config: Config, chunks: int) -> tuple[anthropic.Anthropic, openai.OpenAI]:
    transport = CannedTransport(stream_chunks=chunks)
    a_kwargs: dict[str, Any] = {"api_key": "k", "base_url": "http://bench", "http_client": transport.client()}
    if config.anthropic_otel is not None:
        a_kwargs["open_telemetry"] = config.anthropic_otel
    a = anthropic.Anthropic(**a_kwargs)
    o = openai.OpenAI(api_key="k", base_url="http://bench/v1", http_client=transport.client())
    return a, o


def w_anthropic(a: anthropic.Anthropic, o: openai.OpenAI) -> None:
    a.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES)  # type: ignore[arg-type]


def w_anthropic_stream(a: anthropic.Anthropic, o: openai.OpenAI) -> None:
    for _ in a.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, stream=True):  # type: ignore[arg-type]
        pass


def w_openai(a: anthropic.Anthropic, o: openai.OpenAI) -> None:
    o.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)  # type: ignore[arg-type]


def w_openai_stream(a: anthropic.Anthropic, o: openai.OpenAI) -> None:
    for _ in o.chat.completions.create(
        model=OPENAI_MODEL,
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    ):
        pass


def measure(
    cfgs: list[Config], workload: Callable[..., None], chunks: int, rounds: int, calls: int, skip: set[str]
) -> dict[str, float]:
    """Median over rounds of microseconds per call, per configuration."""
    per_round: dict[str, list[float]] = {c.name: [] for c in cfgs if c.name not in skip}
    prepared = {c.name: clients(c, chunks) for c in cfgs}
    rng = random.Random(7)
    for _ in range(rounds):
        order = [c for c in cfgs if c.name not in skip]
        rng.shuffle(order)
        for cfg in order:
            a, o = prepared[cfg.name]
            cfg.setup()
            try:
                for _ in range(max(5, calls // 20)):
                    workload(a, o)
                gc.collect()
                start = time.perf_counter()
                for _ in range(calls):
                    workload(a, o)
                per_round[cfg.name].append((time.perf_counter() - start) / calls * 1e6)
            finally:
                cfg.teardown()
    result = {name: statistics.median(values) for name, values in per_round.items()}
    print(
        f"  measured {workload.__name__} ({chunks} chunks): " + ", ".join(f"{k} {v:.0f}us" for k, v in result.items()),
        file=sys.stderr,
        flush=True,
    )
    return result


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def memory_check(n: int) -> tuple[float, float, int]:
    cfg = configs()[1]
    a, o = clients(cfg, 20)
    cfg.setup()
    try:
        warm = min(20_000, n // 5)
        for i in range(warm):
            (w_anthropic if i % 2 else w_openai)(a, o)
        gc.collect()
        TRACER_PROVIDER.force_flush()
        before = rss_mb()
        for i in range(n - warm):
            (w_anthropic if i % 2 else w_openai)(a, o)
        gc.collect()
        TRACER_PROVIDER.force_flush()
        after = rss_mb()
    finally:
        cfg.teardown()
    from firsttoken.core.call import LLMCall

    alive = sum(1 for obj in gc.get_objects() if isinstance(obj, LLMCall))
    return before, after, alive


def metric_drain_cost(samples: int = 20_000) -> float:
    from firsttoken.core.metrics import GenAIMetrics

    recorder = GenAIMetrics(METER_PROVIDER, drain_interval_s=3600)
    key = ("chat", "anthropic", ANTHROPIC_MODEL, "claude-haiku-4-5-20251001", "bench", None)
    recorder._thread = threading.current_thread()  # keep the background drain out of this measurement
    for _ in range(samples):
        recorder.enqueue((key, 0.4, 2060, 9, None, None))
    start = time.perf_counter()
    recorder.drain()
    recorder.shutdown()
    return (time.perf_counter() - start) / samples * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--memory-calls", type=int, default=100_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a floor is missed")
    args = parser.parse_args(argv)

    cfgs = configs()
    names = [c.name for c in cfgs]
    short, long_ = 20, 220
    no_native = {"anthropic SDK tracing"}
    results = {
        "anthropic messages.create": measure(cfgs, w_anthropic, short, args.rounds, args.calls, set()),
        "openai chat.completions.create": measure(cfgs, w_openai, short, args.rounds, args.calls, no_native),
    }
    stream_calls = max(20, args.calls // 10)
    streams = {
        "anthropic stream": (
            measure(cfgs, w_anthropic_stream, short, args.rounds, stream_calls, set()),
            measure(cfgs, w_anthropic_stream, long_, args.rounds, stream_calls, set()),
        ),
        "openai stream": (
            measure(cfgs, w_openai_stream, short, args.rounds, stream_calls, no_native),
            measure(cfgs, w_openai_stream, long_, args.rounds, stream_calls, no_native),
        ),
    }

    print(
        f"\nSDK overhead (anthropic {anthropic.__version__}, openai {openai.__version__}, "
        f"median of {args.rounds} interleaved rounds, in-process transport)\n"
    )
    print(f"{'non-streaming call':34} " + " ".join(f"{n:>22}" for n in names))
    verdicts: list[bool] = []
    for label, res in results.items():
        bare = res["bare SDK"]
        cells = []
        for n in names:
            if n not in res:
                cells.append(f"{'n/a':>22}")
            elif n == "bare SDK":
                cells.append(f"{bare:>15.1f} us/call")
            else:
                cells.append(f"{res[n] - bare:>+16.1f} us add")
        print(f"{label:34} " + " ".join(cells))
        verdicts.append(res["firsttoken"] - bare <= FLOOR_CALL_US)
    print(f"\n{'per stream chunk (slope 20->220)':34} " + " ".join(f"{n:>22}" for n in names))
    for label, (s_res, l_res) in streams.items():
        cells = []
        for n in names:
            if n not in s_res:
                cells.append(f"{'n/a':>22}")
                continue
            per_chunk = (l_res[n] - s_res[n]) / (long_ - short)
            if n == "bare SDK":
                cells.append(f"{per_chunk:>14.2f} us/chunk")
            else:
                base = (l_res["bare SDK"] - s_res["bare SDK"]) / (long_ - short)
                cells.append(f"{per_chunk - base:>+15.2f} us add")
        print(f"{label:34} " + " ".join(cells))
        ft = ((l_res["firsttoken"] - s_res["firsttoken"]) - (l_res["bare SDK"] - s_res["bare SDK"])) / (long_ - short)
        verdicts.append(ft <= FLOOR_CHUNK_US)
        call_add = s_res["firsttoken"] - s_res["bare SDK"] - ft * short
        print(f"{'':34}   firsttoken fixed cost per stream: {call_add:+.1f} us")

    drain = metric_drain_cost()
    print(f"\nGenAI metrics recorded off the request path: {drain:.1f} us of background CPU per call")

    before, after, alive = memory_check(args.memory_calls)
    print(
        f"memory over {args.memory_calls:,} instrumented calls: RSS {before:.1f} MB after warm-up -> {after:.1f} MB "
        f"({after - before:+.1f} MB); LLM calls still alive: {alive}; spans exported: {EXPORTER.count:,}"
    )
    verdicts.append(after - before < 10 and alive == 0)

    ok = all(verdicts)
    print(
        f"\nfloors: <= {FLOOR_CALL_US:.0f} us per call, <= {FLOOR_CHUNK_US:.0f} us per chunk, flat memory: "
        + ("PASS" if ok else "MISSED")
    )
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
