"""GenAI client metrics with the semantic-convention names, units and bucket boundaries, recorded off the hot path.

A finished call appends one small tuple to a bounded deque (well under a microsecond); a background drain turns the
samples into histograms every second, sooner when the backlog grows, and always right before a metric collection (an
observable instrument's callback runs first in each collect), so exported metrics are never behind. If the backlog
ever exceeds its bound the oldest samples are dropped and counted in `firsttoken.sdk.metric_samples.dropped`.

Where the drain puts them depends on whose meter provider it is:
- firsttoken's own (it configured one from `OTEL_*` because the application had none): the samples are aggregated in
  firsttoken (`core/histograms.py`, ~1-2 us of background CPU per call) and handed to the reader at collection.
- the application's: recorded into OpenTelemetry SDK histograms. The SDK's `Histogram.record` costs 12-25 us here
  (it cleans, copies and hashes the attributes on every call), three to five per call; `benchmarks/sdk_overhead.py`
  prints that background CPU per call for both paths.
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
from firsttoken.core.histograms import HISTOGRAMS, MetricKey, hub_for, key_attributes

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
# uninstrument()/instrument() cycle. Providers are remembered weakly, not by id(): a new provider can be allocated
# at the address of a collected one, and would then never get its hook (its collections would export nothing).
_LIVE: weakref.WeakSet[GenAIMetrics] = weakref.WeakSet()
_HOOKED: weakref.WeakSet[MeterProvider] = weakref.WeakSet()
_HOOKED_BY_ID: set[int] = set()  # providers that cannot be weakly referenced (kept alive by their owner anyway)
_HOOK_LOCK = threading.Lock()


def _first_hook(meter_provider: MeterProvider) -> bool:
    """True the first time a provider is seen (caller holds _HOOK_LOCK)."""
    try:
        if meter_provider in _HOOKED:
            return False
        _HOOKED.add(meter_provider)
    except TypeError:  # not weakly referenceable
        if id(meter_provider) in _HOOKED_BY_ID:
            return False
        _HOOKED_BY_ID.add(id(meter_provider))
    return True


def _register_drain_hook(meter_provider: MeterProvider, meter: Meter) -> None:
    with _HOOK_LOCK:
        if not _first_hook(meter_provider):
            return

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
        # firsttoken's own meter provider: aggregated here, handed to its readers at collection (core/histograms.py)
        self._hub = hub_for(meter_provider)
        if self._hub is None:
            self._duration, self._tokens, self._ttfc, self._tpoc = (
                meter.create_histogram(
                    spec.name,
                    unit=spec.unit,
                    description=spec.description,
                    explicit_bucket_boundaries_advisory=list(spec.boundaries),
                )
                for spec in HISTOGRAMS
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
        elif len(backlog) > _WAKE_AT and not self._wake.is_set():  # Event.set takes a lock even when already set
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
                hub = self._hub
                if hub is not None:
                    with hub.lock:
                        return hub.absorb(backlog)
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
        attrs = key_attributes(key)
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
