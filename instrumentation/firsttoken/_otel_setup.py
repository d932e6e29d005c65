"""Tracer and meter providers: the application's when it configured OpenTelemetry, else OTLP ones from `OTEL_*`.

Only the standard variables are read (service name and resource attributes, exporter choice, protocol, endpoint and
headers via the exporters themselves, metric export interval). Shutdown of providers firsttoken created is bounded:
an unreachable collector cannot hold the process at exit longer than `shutdown_timeout_s`.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from firsttoken.config import ConfigError

logger = logging.getLogger("firsttoken")

_PROTOCOLS = ("http/protobuf", "grpc")


@dataclass
class Providers:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider | None
    # The providers firsttoken created (and so must flush and shut down); empty when the app configured its own.
    owned: list[Any] = field(default_factory=list)


def _is_unset(provider: object) -> bool:
    """The OpenTelemetry API's placeholder (nothing configured yet) or its no-op."""
    name = type(provider).__name__
    return "Proxy" in name or "NoOp" in name


def _protocol(env: Mapping[str, str], signal: str) -> str:
    for name in (f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = env.get(name)
        if value:
            value = value.strip().lower()
            if value not in _PROTOCOLS:
                raise ConfigError(f"{name}={value!r} is not supported; use one of {', '.join(_PROTOCOLS)}")
            return value
    return "http/protobuf"


def _exporter_choice(env: Mapping[str, str], name: str) -> str:
    value = (env.get(name) or "otlp").strip().lower()
    if value not in ("otlp", "console", "none"):
        raise ConfigError(f"{name}={value!r} is not supported by firsttoken's default setup; use otlp, console or none")
    return value


def _span_exporter(env: Mapping[str, str]) -> Any:
    choice = _exporter_choice(env, "OTEL_TRACES_EXPORTER")
    if choice == "none":
        return None
    if choice == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if _protocol(env, "TRACES") == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ConfigError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc installed"
            ) from exc
        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter

    return HTTPSpanExporter()


def _metric_exporter(env: Mapping[str, str]) -> Any:
    choice = _exporter_choice(env, "OTEL_METRICS_EXPORTER")
    if choice == "none":
        return None
    if choice == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    if _protocol(env, "METRICS") == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        except ImportError as exc:
            raise ConfigError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc installed"
            ) from exc
        return OTLPMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPMetricExporter

    return HTTPMetricExporter()


def resolve_providers(
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    *,
    want_metrics: bool,
    env: Mapping[str, str] | None = None,
) -> Providers:
    env = os.environ if env is None else env
    owned: list[Any] = []
    if tracer_provider is None:
        current = trace.get_tracer_provider()
        if _is_unset(current) and (env.get("OTEL_SDK_DISABLED", "").lower() != "true"):
            tracer_provider = _make_tracer_provider(env)
            if tracer_provider is not None:
                trace.set_tracer_provider(tracer_provider)
                owned.append(tracer_provider)
        tracer_provider = tracer_provider or trace.get_tracer_provider()
    if want_metrics and meter_provider is None:
        current_mp = metrics.get_meter_provider()
        if _is_unset(current_mp) and (env.get("OTEL_SDK_DISABLED", "").lower() != "true"):
            made = _make_meter_provider(env)
            if made is not None:
                metrics.set_meter_provider(made)
                owned.append(made)
                meter_provider = made
        meter_provider = meter_provider or metrics.get_meter_provider()
    return Providers(tracer_provider, meter_provider if want_metrics else None, owned)


def _make_tracer_provider(env: Mapping[str, str]) -> TracerProvider | None:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SDKTracerProvider(resource=Resource.create(), shutdown_on_exit=False)
    exporter = _span_exporter(env)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _make_meter_provider(env: Mapping[str, str]) -> MeterProvider | None:
    """An SDK MeterProvider exporting per `OTEL_*`, whose GenAI histograms firsttoken aggregates itself.

    Its reader adds firsttoken's pre-aggregated histograms to each collection (`core/histograms.py`), so the
    background CPU of the GenAI metrics is ~1-2 us per call instead of the SDK's 12-25 us per recorded value.
    """
    from opentelemetry.sdk.resources import Resource

    from firsttoken.core.histograms import HistogramHub, HubPeriodicExportingMetricReader, hub_meter_provider

    exporter = _metric_exporter(env)
    hub = HistogramHub()
    readers = [HubPeriodicExportingMetricReader(exporter, hub)] if exporter is not None else []
    provider: MeterProvider = hub_meter_provider(readers, hub, Resource.create())
    return provider


def bounded_shutdown(owned: list[Any], timeout_s: float) -> bool:
    """Flush and shut down firsttoken's own providers within `timeout_s`, even if the collector is unreachable.

    The exporters' own retry loops can outlast any sensible exit budget, so the work runs on a daemon thread and the
    caller waits at most `timeout_s`; whatever could not be delivered by then is abandoned (and logged), the process
    is not held. Returns True when everything finished in time.
    """
    if not owned:
        return True

    def work() -> None:
        for provider in owned:
            try:
                flush = getattr(provider, "force_flush", None)
                if flush is not None:
                    flush(int(timeout_s * 1000))
                provider.shutdown()
            except Exception:
                logger.debug("firsttoken: provider shutdown failed", exc_info=True)

    thread = threading.Thread(target=work, name="firsttoken-shutdown", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        logger.warning(
            "firsttoken: telemetry not fully flushed within %.1fs at shutdown (collector unreachable?)", timeout_s
        )
        return False
    return True


_atexit_registered = False


def register_atexit(owned: list[Any], timeout_s: float) -> None:
    global _atexit_registered
    if _atexit_registered or not owned:
        return
    _atexit_registered = True
    atexit.register(bounded_shutdown, owned, timeout_s)
