"""What firsttoken adds to an SDK call, next to the Anthropic SDK's own tracing and OpenLLMetry.

Timings on a shared 2-core VM drift by 2x within minutes, so every figure is measured against a baseline taken in the
same run, in interleaved blocks, and summarised by the minimum (the machine's quiet floor) and the median:

1. firsttoken's own cost, isolated: the request hook around an SDK `request()` that returns a prebuilt response at
   once, and the stream proxy over prebuilt events. Compared with a bare OpenTelemetry span carrying 20 attributes
   timed in the same blocks; the issue's floors are stated on a machine where that span costs ~38 us, so
   "CI-equivalent us" = ratio x 38.
2. End to end through the real SDKs on an in-process transport (canned bytes): bare SDK vs firsttoken vs the
   Anthropic SDK's own tracing, paired per round.
3. OpenLLMetry in a child process (its uninstrument() leaves wrappers behind that slow every later call, so it
   cannot share a process with the other configurations).
4. Memory over N instrumented calls, and the background CPU of recording GenAI metrics.

Run: python benchmarks/sdk_overhead.py [--blocks 30] [--rounds 9] [--memory-calls 100000] [--strict]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
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
from opentelemetry.trace import SpanKind

import firsttoken
from _canned import (
    ANTHROPIC_MODEL,
    OPENAI_MODEL,
    CannedTransport,
    anthropic_message,
    openai_completion,
)
from firsttoken import _instrument

CI_SPAN20_US = 38.0
FLOOR_CALL_US = 40.0
FLOOR_CHUNK_US = 2.0
FLOOR_TYPICAL_US = 60.0
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
METER_PROVIDER = MeterProvider(metric_readers=[InMemoryMetricReader()])


def blocks(
    fns: dict[str, Callable[[], None]],
    n_blocks: int,
    per_block: int,
    between: Callable[[], object] | None = None,
) -> dict[str, list[float]]:
    """Microseconds per call of each function, one sample per block, blocks interleaved; `between` runs untimed
    after each block."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        for _ in range(per_block // 4):
            fn()
    for _ in range(n_blocks):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(per_block):
                fn()
            out[name].append((time.perf_counter() - start) / per_block * 1e6)
            if between is not None:
                between()
    return out


def hold_metric_drain(runtime: Any) -> Callable[[], object] | None:
    """Keep the GenAI-metrics drain thread out of timed blocks; the returned function drains, untimed.

    The drain records each call's samples into the OpenTelemetry histograms in a background thread (section 4 prints
    its CPU per call, more than the request-path cost itself). Left running, it takes the GIL in whichever block is
    being timed -- the span20 baseline as often as firsttoken's own -- so both the baseline and the ratios swung by
    tens of percent from run to run. Section 1 is the request path: calls still enqueue their sample (timed), and
    the backlog is drained between blocks.
    """
    recorder = runtime.metrics
    if recorder is None:
        return None
    recorder._thread = threading.current_thread()  # as metric_drain_cost does: no background thread starts
    drain: Callable[[], object] = recorder.drain
    return drain


# --- 1. isolated ----------------------------------------------------------------------------------------------------
def isolated(n_blocks: int) -> dict[str, Any]:
    from anthropic._models import FinalRequestOptions as AOptions
    from openai._models import FinalRequestOptions as OOptions

    from firsttoken.core.hooks import sync_request_wrapper
    from firsttoken.core.stream_proxy import SyncStreamProxy

    firsttoken.instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)
    state = _instrument._state
    assert state is not None
    rt = state.runtime
    drain = hold_metric_drain(rt)
    plugins = {p.name: p for p in state.plugins}
    a_hook = sync_request_wrapper(rt, plugins["anthropic"])
    o_hook = sync_request_wrapper(rt, plugins["openai"])
    a_client = anthropic.Anthropic(api_key="k")
    o_client = openai.OpenAI(api_key="k")
    message = anthropic.types.Message.construct(**anthropic_message())
    completion = openai.types.chat.ChatCompletion.construct(**openai_completion())
    a_opts = AOptions.construct(
        method="post", url="/v1/messages", json_data={"model": ANTHROPIC_MODEL, "max_tokens": 64, "messages": MESSAGES}
    )
    o_opts = OOptions.construct(
        method="post", url="/chat/completions", json_data={"model": OPENAI_MODEL, "messages": MESSAGES}
    )

    def give_message(*_a: Any, **_k: Any) -> Any:
        return message

    # a typical production call: a tool definition and a requested schema in the request; a tool call and a JSON
    # answer in the response, so cost, tool-argument validation and structured-output validation all run
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    lookup = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
    typical_message = anthropic.types.Message.construct(
        **{
            **anthropic_message(),
            "content": [
                {"type": "text", "text": '{"ok": true}'},
                {"type": "tool_use", "id": "toolu_01", "name": "lookup", "input": {"q": "paris"}},
            ],
            "stop_reason": "tool_use",
        }
    )
    typical_opts = AOptions.construct(
        method="post",
        url="/v1/messages",
        json_data={
            "model": ANTHROPIC_MODEL,
            "max_tokens": 64,
            "messages": MESSAGES,
            "tools": [lookup],
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        },
    )

    def give_typical(*_a: Any, **_k: Any) -> Any:
        return typical_message

    def give_completion(*_a: Any, **_k: Any) -> Any:
        return completion

    tracer = TRACER_PROVIDER.get_tracer("bench")
    attrs20 = {f"gen_ai.bench.attr{i}": i for i in range(20)}

    calls = blocks(
        {
            "span20": lambda: tracer.start_span("chat m", kind=SpanKind.CLIENT, attributes=attrs20).end(),
            "anthropic": lambda: a_hook(give_message, a_client, (anthropic.types.Message, a_opts), {}),
            "openai": lambda: o_hook(give_completion, o_client, (None, o_opts), {}),
            "typical": lambda: a_hook(give_typical, a_client, (anthropic.types.Message, typical_opts), {}),
        },
        n_blocks,
        1000,
        drain,
    )

    # per chunk: the proxy over prebuilt events vs a plain loop over the same events; slope between two lengths
    canned = CannedTransport(stream_chunks=200)
    a_events = list(
        anthropic.Anthropic(
            api_key="k", base_url="http://b", http_client=canned.client(), open_telemetry=False
        ).messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    )
    firsttoken.uninstrument()
    o_events = list(
        openai.OpenAI(api_key="k", base_url="http://b/v1", http_client=canned.client()).chat.completions.create(
            model=OPENAI_MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},  # type: ignore[arg-type]
        )
    )
    firsttoken.instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)
    state = _instrument._state
    assert state is not None
    rt = state.runtime
    drain = hold_metric_drain(rt)
    plugins = {p.name: p for p in state.plugins}
    stream_opts = {
        "anthropic": AOptions.construct(
            method="post",
            url="/v1/messages",
            json_data={"model": ANTHROPIC_MODEL, "max_tokens": 64, "messages": MESSAGES, "stream": True},
        ),
        "openai": OOptions.construct(
            method="post", url="/chat/completions", json_data={"model": OPENAI_MODEL, "messages": MESSAGES}
        ),
    }
    clients = {"anthropic": a_client, "openai": o_client}

    def proxied(provider: str, events: list[Any]) -> Callable[[], None]:
        def run() -> None:
            call = rt.begin(plugins[provider], clients[provider], (None, stream_opts[provider]), {"stream": True})
            assert call is not None
            call.deactivate()  # as the hook does when request() returns the stream
            for _ in SyncStreamProxy(events, call, call.endpoint.stream_recorder(call.facts)):
                pass

        return run

    def plain(events: list[Any]) -> Callable[[], None]:
        def run() -> None:
            for _ in events:
                pass

        return run

    short_a, short_o = a_events[:12], o_events[:12]
    chunk = blocks(
        {
            "a_long": proxied("anthropic", a_events),
            "a_short": proxied("anthropic", short_a),
            "a_plain_long": plain(a_events),
            "a_plain_short": plain(short_a),
            "o_long": proxied("openai", o_events),
            "o_short": proxied("openai", short_o),
            "o_plain_long": plain(o_events),
            "o_plain_short": plain(short_o),
        },
        n_blocks,
        50,
        drain,
    )
    firsttoken.uninstrument()

    def per_chunk(prefix: str, n_long: int, n_short: int) -> float:
        med = {k: statistics.median(v) for k, v in chunk.items()}
        proxy_slope = (med[f"{prefix}_long"] - med[f"{prefix}_short"]) / (n_long - n_short)
        plain_slope = (med[f"{prefix}_plain_long"] - med[f"{prefix}_plain_short"]) / (n_long - n_short)
        return proxy_slope - plain_slope

    return {
        "validation_20kb_us": validation_cost(),
        "calls": calls,
        "chunk_anthropic": per_chunk("a", len(a_events), len(short_a)),
        "chunk_openai": per_chunk("o", len(o_events), len(short_o)),
    }


def validation_cost() -> float:
    """Microseconds to validate one ~20 KB structured output against its (cached) schema."""
    from firsttoken.core.facts import CallFacts
    from firsttoken.validation.schemas import SchemaValidators
    from firsttoken.validation.structured import StructuredSpec, check_structured

    item = {"type": "object", "properties": {"id": {"type": "integer"}, "label": {"type": "string"}}}
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": item}}, "required": ["items"]}
    text = json.dumps({"items": [{"id": i, "label": f"label number {i}"} for i in range(560)]})
    facts = CallFacts()
    facts.output_parts = [text]
    spec = StructuredSpec("json_schema", schema)
    validators = SchemaValidators()
    assert check_structured(spec, facts, None, validators) == (True, None)
    runs = blocks({"v": lambda: check_structured(spec, facts, None, validators)}, 10, 50)["v"]
    return statistics.median(runs)


# --- 2. end to end --------------------------------------------------------------------------------------------------
def end_to_end(rounds: int, calls: int) -> dict[str, dict[str, list[float]]]:
    canned = CannedTransport(stream_chunks=20)
    bare_a = anthropic.Anthropic(api_key="k", base_url="http://b", http_client=canned.client(), open_telemetry=False)
    native_a = anthropic.Anthropic(
        api_key="k",
        base_url="http://b",
        http_client=canned.client(),
        open_telemetry={"tracer_provider": TRACER_PROVIDER},
    )
    default_a = anthropic.Anthropic(api_key="k", base_url="http://b", http_client=canned.client())
    o_client = openai.OpenAI(api_key="k", base_url="http://b/v1", http_client=canned.client())

    def a_call(client: anthropic.Anthropic) -> Callable[[], None]:
        return lambda: client.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES)  # type: ignore[arg-type]

    def o_call() -> None:
        o_client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)  # type: ignore[arg-type]

    out: dict[str, dict[str, list[float]]] = {"anthropic": {}, "openai": {}}
    for _ in range(rounds):
        sample = blocks({"bare SDK": a_call(bare_a), "anthropic SDK tracing": a_call(native_a)}, 1, calls)
        firsttoken.instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)
        sample.update({"firsttoken": blocks({"x": a_call(default_a)}, 1, calls)["x"]})
        o_ft = blocks({"x": o_call}, 1, calls)["x"]
        firsttoken.uninstrument()
        o_bare = blocks({"x": o_call}, 1, calls)["x"]
        for k, v in sample.items():
            out["anthropic"].setdefault(k, []).extend(v)
        out["openai"].setdefault("bare SDK", []).extend(o_bare)
        out["openai"].setdefault("firsttoken", []).extend(o_ft)
    return out


# --- 3. OpenLLMetry, in a child -------------------------------------------------------------------------------------
_PEER_CHILD = """
import json, sys, time, os
__file__ = sys.argv[1]
sys.path.insert(0, os.path.dirname(sys.argv[1]))
exec(open(sys.argv[1]).read().split("# --- 1. isolated")[0])
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
canned = CannedTransport(stream_chunks=20)
a = anthropic.Anthropic(api_key="k", base_url="http://b", http_client=canned.client(), open_telemetry=False)
o = openai.OpenAI(api_key="k", base_url="http://b/v1", http_client=canned.client())
fa = lambda: a.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES)
fo = lambda: o.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
rounds, calls = int(sys.argv[2]), int(sys.argv[3])
bare = blocks({"anthropic": fa, "openai": fo}, rounds, calls)
AnthropicInstrumentor().instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)
OpenAIInstrumentor().instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)
peer = blocks({"anthropic": fa, "openai": fo}, rounds, calls)
print(json.dumps({"bare": bare, "peer": peer}))
"""


def openllmetry(rounds: int, calls: int) -> dict[str, Any] | None:
    try:
        import opentelemetry.instrumentation.anthropic  # noqa: F401
    except ImportError:
        return None
    result = subprocess.run(
        [sys.executable, "-c", _PEER_CHILD, os.path.abspath(__file__), str(rounds), str(calls)],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "FIRSTTOKEN_STRICT": "0"},
    )
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return None
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


# --- 4. memory and metrics ------------------------------------------------------------------------------------------
def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def memory_check(n: int) -> tuple[float, float, int]:
    canned = CannedTransport(stream_chunks=20)
    a = anthropic.Anthropic(api_key="k", base_url="http://b", http_client=canned.client())
    o = openai.OpenAI(api_key="k", base_url="http://b/v1", http_client=canned.client())
    firsttoken.instrument(tracer_provider=TRACER_PROVIDER, meter_provider=METER_PROVIDER)
    try:

        def one(i: int) -> None:
            if i % 4 == 0:
                for _ in a.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES, stream=True):  # type: ignore[arg-type]
                    pass
            elif i % 2:
                a.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES)  # type: ignore[arg-type]
            else:
                o.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)  # type: ignore[arg-type]

        warm = min(20_000, n // 5)
        for i in range(warm):
            one(i)
        gc.collect()
        TRACER_PROVIDER.force_flush()
        before = rss_mb()
        for i in range(n - warm):
            one(i)
        gc.collect()
        TRACER_PROVIDER.force_flush()
        after = rss_mb()
    finally:
        firsttoken.uninstrument()
    from firsttoken.core.call import LLMCall

    alive = sum(1 for obj in gc.get_objects() if isinstance(obj, LLMCall))
    return before, after, alive


def metric_drain_cost(samples: int = 20_000, aggregated: bool = False) -> float:
    """Background CPU per non-streaming call of the GenAI metrics (duration + input and output tokens).

    aggregated=False: the application's MeterProvider, so the OpenTelemetry SDK's histograms; True: the meter
    provider firsttoken configures itself when the application has none (aggregated in firsttoken, collected by the
    reader), including one collection of the result.
    """
    from firsttoken.core.metrics import GenAIMetrics

    provider: Any = METER_PROVIDER
    reader: Any = None
    if aggregated:
        from firsttoken.core.histograms import HistogramHub, HubInMemoryMetricReader, hub_meter_provider

        hub = HistogramHub()
        reader = HubInMemoryMetricReader(hub)
        provider = hub_meter_provider([reader], hub)
    recorder = GenAIMetrics(provider, drain_interval_s=3600)
    recorder._thread = threading.current_thread()  # keep the background drain out of this measurement
    key = ("chat", "anthropic", ANTHROPIC_MODEL, "claude-haiku-4-5-20251001", "bench", None)
    for i in range(samples):
        recorder.enqueue((*key, 0.4 + (i % 7) * 0.1, 2060 + i % 100, 9 + i % 13, None, None))
    start = time.thread_time()
    recorder.drain()
    if reader is not None:
        reader.get_metrics_data()
    elapsed = time.thread_time() - start
    recorder.shutdown()
    return elapsed / samples * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=30, help="interleaved blocks for the isolated figures")
    parser.add_argument("--rounds", type=int, default=9, help="rounds for the end-to-end figures")
    parser.add_argument("--calls", type=int, default=200, help="calls per end-to-end round")
    parser.add_argument("--memory-calls", type=int, default=100_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a floor is missed")
    args = parser.parse_args(argv)
    trace.set_tracer_provider(TRACER_PROVIDER)  # the Anthropic SDK's own tracing reports here
    print(f"anthropic {anthropic.__version__}, openai {openai.__version__}, python {sys.version.split()[0]}\n")

    iso = isolated(args.blocks)
    span20 = iso["calls"]["span20"]
    s_min, s_med = min(span20), statistics.median(span20)
    print("1. firsttoken's own cost per call (hook around a request() that returns at once)")
    print(f"   bare OpenTelemetry span with 20 attributes, same run: min {s_min:.1f} us, median {s_med:.1f} us")
    verdicts = []
    for provider in ("anthropic", "openai", "typical"):
        values = iso["calls"][provider]
        # the ratio within each block (both timed seconds apart) is what machine drift leaves alone
        ratio = statistics.median(v / s for v, s in zip(values, span20, strict=True))
        print(
            f"   {provider:9}  min {min(values):6.1f} us  median {statistics.median(values):6.1f} us  "
            f"= {ratio:.2f} x span20  -> CI-equivalent {ratio * CI_SPAN20_US:5.1f} us "
            f"(floor {FLOOR_TYPICAL_US if provider == 'typical' else FLOOR_CALL_US:.0f})"
        )
        floor = FLOOR_TYPICAL_US if provider == "typical" else FLOOR_CALL_US
        verdicts.append(ratio * CI_SPAN20_US <= floor)
    for provider in ("anthropic", "openai"):
        per = iso[f"chunk_{provider}"]
        ci = per / s_min * CI_SPAN20_US  # chunk blocks are medians of quiet and busy spells alike: scale by the floor
        floor = f"(floor {FLOOR_CHUNK_US:.0f})"
        print(f"   {provider:9}  per stream chunk: {per:+.2f} us -> CI-equivalent {ci:+.2f} us {floor}")
        verdicts.append(ci <= FLOOR_CHUNK_US)

    ci_scale = CI_SPAN20_US / s_min
    print(
        f"   validating a ~20 KB structured output (parse + schema): {iso['validation_20kb_us']:.0f} us "
        f"-> CI-equivalent {iso['validation_20kb_us'] * ci_scale:.0f} us (reported, no floor)"
    )
    print("\n2. end to end, real SDKs on an in-process transport (non-streaming call)")
    e2e = end_to_end(args.rounds, args.calls)
    for provider, res in e2e.items():
        bare = res["bare SDK"]
        line = f"   {provider:9}  bare SDK {statistics.median(bare):7.1f} us/call"
        for name, values in res.items():
            if name == "bare SDK":
                continue
            paired = [v - b for v, b in zip(values, bare, strict=True)]
            line += f" | {name} {statistics.median(paired):+7.1f} us"
        print(line)

    print("\n3. OpenLLMetry (opentelemetry-instrumentation-anthropic/-openai), child process")
    peer = openllmetry(max(3, args.rounds), args.calls)
    if peer is None:
        print("   not installed or failed; skipped")
    else:
        for provider in ("anthropic", "openai"):
            bare_med = statistics.median(peer["bare"][provider])
            add = statistics.median(peer["peer"][provider]) - bare_med
            print(f"   {provider:9}  bare SDK {bare_med:7.1f} us/call | OpenLLMetry {add:+7.1f} us")

    sdk_drain = min(metric_drain_cost() for _ in range(3))
    print("\n4. GenAI metrics, recorded off the request path (background CPU per non-streaming call, best of 3):")
    try:
        own_drain = min(metric_drain_cost(aggregated=True) for _ in range(3))
        print(f"   firsttoken's own meter provider (aggregated in firsttoken): {own_drain:.1f} us")
    except ImportError:  # a checkout from before in-process aggregation
        print("   firsttoken's own meter provider: same path as below (this checkout does not aggregate)")
    print(f"   the application's MeterProvider (OpenTelemetry SDK histograms): {sdk_drain:.1f} us")
    before, after, alive = memory_check(args.memory_calls)
    print(
        f"   memory over {args.memory_calls:,} instrumented calls: RSS {before:.1f} MB after warm-up -> {after:.1f} MB "
        f"({after - before:+.1f} MB); LLM calls still alive: {alive}; spans exported: {EXPORTER.count:,}"
    )
    verdicts.append(after - before < 10 and alive == 0)

    ok = all(verdicts)
    print(f"\nfloors (per call, per chunk, flat memory): {'PASS' if ok else 'MISSED'}")
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
