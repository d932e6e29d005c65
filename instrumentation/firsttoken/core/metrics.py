"""GenAI client metrics with the semantic-convention names, units and bucket boundaries, recorded off the hot path.

The OpenTelemetry SDK's `Histogram.record` costs ~18 microseconds here (attribute cleaning, hashing, locking); four of
them per call would be twice firsttoken's whole per-call budget. So a finished call appends one small tuple to a
bounded deque (well under a microsecond) and the samples are recorded into the real histograms by a background
drain: every second, sooner when the backlog grows, and always right before a metric collection (an observable
instrument's callback runs first in each collect), so exported metrics are never behind. The CPU is still spent —
`benchmarks/sdk_overhead.py` prints it per call — but not on the caller's request path. If the backlog ever exceeds
its bound the oldest samples are dropped and counted in `firsttoken.sdk.metric_samples.dropped`.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from collections.abc import Iterable

from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation

from firsttoken import semconv
from firsttoken._guard import report_internal_error
from firsttoken._version import __version__

# (operation, provider, request model, response model, server address, error type)
MetricKey = tuple[str, str, str | None, str | None, str | None, str | None]
# the key's six fields, then: duration s, input tokens, output tokens, time to first chunk s, mean time per output
# chunk s. Flat, so a finished call allocates one tuple.
Sample = tuple[
    str, str, str | None, str | None, str | None, str | None, float, int | None, int | None, float | None, float | None
]

_MAX_BACKLOG = 16_384
_WAKE_AT = 2_048
_DRAIN_INTERVAL_S = 1.0
_MAX_CACHED_KEYS = 4_096


# Every recorder alive, drained before each collection. The hook is registered once per meter provider: the SDK
# hands back the first instrument of a name on re-registration, so a per-recorder callback would be lost after an
# uninstrument()/instrument() cycle.
_LIVE: weakref.WeakSet[GenAIMetrics] = weakref.WeakSet()
_HOOKED: set[int] = set()
_HOOK_LOCK = threading.Lock()


def _register_drain_hook(meter_provider: MeterProvider, meter: Meter) -> None:
    with _HOOK_LOCK:
        if id(meter_provider) in _HOOKED:
            return
        _HOOKED.add(id(meter_provider))

    def drain_all(options: CallbackOptions) -> Iterable[Observation]:
        dropped = 0
        for recorder in list(_LIVE):
            recorder.drain()
            dropped += recorder._dropped
        return (Observation(dropped),)

    meter.create_observable_counter(
        "firsttoken.sdk.metric_samples.dropped",
        callbacks=[drain_all],
        unit="{sample}",
        description="GenAI metric samples dropped because the recording backlog was full",
    )


def _forget_thread(ref: weakref.ref[GenAIMetrics]) -> None:
    me = ref()
    if me is not None:
        me._thread = None
        me._drain_lock = threading.Lock()


class GenAIMetrics:
    def __init__(self, meter_provider: MeterProvider, drain_interval_s: float = _DRAIN_INTERVAL_S) -> None:
        meter = meter_provider.get_meter("firsttoken", __version__)
        self._duration = meter.create_histogram(
            semconv.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(semconv.DURATION_BUCKETS),
        )
        self._tokens = meter.create_histogram(
            semconv.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(semconv.TOKEN_BUCKETS),
        )
        self._ttfc = meter.create_histogram(
            semconv.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from issuing a streaming request to the first content chunk",
            explicit_bucket_boundaries_advisory=list(semconv.DURATION_BUCKETS),
        )
        self._tpoc = meter.create_histogram(
            semconv.METRIC_TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Mean time between output chunks after the first, one sample per stream",
            explicit_bucket_boundaries_advisory=list(semconv.DURATION_BUCKETS),
        )
        self._backlog: deque[Sample] = deque()
        self._dropped = 0
        self._drain_lock = threading.Lock()
        # key -> (attributes, attributes + token type input, attributes + token type output)
        self._attrs_cache: dict[MetricKey, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {}
        self._interval = drain_interval_s
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        ref = weakref.ref(self)
        # A forked child inherits the deque but not the drain thread: forget it there, so the next sample starts one.
        os.register_at_fork(after_in_child=lambda: _forget_thread(ref))
        _LIVE.add(self)
        _register_drain_hook(meter_provider, meter)

    def enqueue(self, sample: Sample) -> None:
        backlog = self._backlog
        if len(backlog) >= _MAX_BACKLOG:
            backlog.popleft()
            self._dropped += 1
        backlog.append(sample)
        if self._thread is None:
            self._start_thread()
        elif len(backlog) > _WAKE_AT:
            self._wake.set()

    def _start_thread(self) -> None:
        with self._drain_lock:
            if self._stopped or self._thread is not None:
                return
            ref = weakref.ref(self)
            wake = self._wake
            interval = self._interval

            def run() -> None:
                while True:
                    wake.wait(interval)
                    wake.clear()
                    me = ref()
                    if me is None or me._stopped:
                        return
                    me.drain()
                    del me

            thread = threading.Thread(target=run, name="firsttoken-metrics", daemon=True)
            self._thread = thread
            thread.start()

    def drain(self) -> int:
        """Record every pending sample into the histograms; returns how many were recorded."""
        backlog = self._backlog
        done = 0
        with self._drain_lock:
            try:
                while backlog:
                    sample = backlog.popleft()
                    duration, tokens_in, tokens_out, ttfc, tpoc = sample[6:]
                    attrs, attrs_in, attrs_out = self._attributes(sample[:6])
                    self._duration.record(duration, attrs)
                    if tokens_in is not None:
                        self._tokens.record(tokens_in, attrs_in)
                    if tokens_out is not None:
                        self._tokens.record(tokens_out, attrs_out)
                    if ttfc is not None:
                        self._ttfc.record(ttfc, attrs)
                    if tpoc is not None:
                        self._tpoc.record(tpoc, attrs)
                    done += 1
            except Exception as exc:
                report_internal_error("metrics.drain", exc)
        return done

    def _attributes(self, key: MetricKey) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        cached = self._attrs_cache.get(key)
        if cached is not None:
            return cached
        operation, provider, request_model, response_model, server, error_type = key
        attrs = {semconv.OPERATION_NAME: operation, semconv.PROVIDER_NAME: provider}
        if request_model:
            attrs[semconv.REQUEST_MODEL] = request_model
        if response_model:
            attrs[semconv.RESPONSE_MODEL] = response_model
        if server:
            attrs[semconv.SERVER_ADDRESS] = server
        if error_type:
            attrs[semconv.ERROR_TYPE] = error_type
        value = (attrs, {**attrs, semconv.TOKEN_TYPE: "input"}, {**attrs, semconv.TOKEN_TYPE: "output"})
        if len(self._attrs_cache) < _MAX_CACHED_KEYS:
            self._attrs_cache[key] = value
        return value

    def pending(self) -> int:
        return len(self._backlog)

    def shutdown(self) -> None:
        self._stopped = True
        self._wake.set()
        self.drain()
