"""`instrument()` / `uninstrument()`: install and remove firsttoken's hooks on the installed SDKs.

Patching is recorded as (owner, attribute, original) so `uninstrument()` puts back the very same function objects
(tests check identity). A method that the installed SDK version lacks is skipped and logged at debug, never an error.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import wrapt

from firsttoken import config
from firsttoken._otel_setup import Providers, bounded_shutdown, register_atexit, resolve_providers
from firsttoken._version import __version__
from firsttoken.content import content_stages
from firsttoken.core import hooks
from firsttoken.core.metrics import GenAIMetrics
from firsttoken.core.plugin import ProviderPlugin
from firsttoken.core.runtime import Runtime, Stage
from firsttoken.cost import cost_stage
from firsttoken.pricing import Pricer, load_pricing
from firsttoken.tasks import task_stages
from firsttoken.tools import inference_stage
from firsttoken.validation.stages import validation_stage

logger = logging.getLogger("firsttoken")


@dataclass
class _Patch:
    owner: Any
    name: str
    original: Any


@dataclass
class _Instrumented:
    runtime: Runtime
    providers: Providers
    plugins: list[ProviderPlugin]
    patches: list[_Patch] = field(default_factory=list)


_lock = threading.RLock()
_state: _Instrumented | None = None


def _load_plugin(name: str) -> ProviderPlugin | None:
    module = importlib.import_module(f"firsttoken.providers.{name}")
    factory: Callable[[], ProviderPlugin | None] = module.plugin
    try:
        return factory()
    except Exception:
        logger.debug("firsttoken: could not load the %s plugin", name, exc_info=True)
        return None


def _patch(patches: list[_Patch], module_name: str, path: str, wrapper: Any) -> bool:
    """Wrap `module.path` ("Class.method" or "function") in place; skip quietly what this SDK version lacks."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    owner: Any = module
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
        if owner is None:
            return False
    original = owner.__dict__.get(name) if hasattr(owner, "__dict__") else None
    if original is None:
        logger.debug("firsttoken: %s.%s not present in this SDK version; skipped", module_name, path)
        return False
    if isinstance(original, property):
        if original.fget is None:
            return False
        getter = wrapt.FunctionWrapper(original.fget, wrapper)
        setattr(owner, name, property(getter, original.fset, original.fdel, original.__doc__))
    else:
        setattr(owner, name, wrapt.FunctionWrapper(original, wrapper))
    patches.append(_Patch(owner, name, original))
    return True


def _install(rt: Runtime, plugin: ProviderPlugin, patches: list[_Patch]) -> None:
    base = plugin.base_client_module
    _patch(patches, base, "SyncAPIClient.request", hooks.sync_request_wrapper(rt, plugin))
    _patch(patches, base, "AsyncAPIClient.request", hooks.async_request_wrapper(rt, plugin))
    for method in ("_sleep_for_retry", "_retry_request"):
        _patch(patches, base, f"SyncAPIClient.{method}", hooks.retry_wrapper)
        _patch(patches, base, f"AsyncAPIClient.{method}", hooks.retry_wrapper)
    if plugin.native_span_hook is not None and not plugin.defer_to_native:
        module_name, function = plugin.native_span_hook
        _patch(patches, module_name, function, hooks.suppress_native_span)


def instrument(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    capture_content: str | config.CaptureMode | bool | None = None,
    anthropic_native_spans: str | config.NativeSpans | None = None,
    metrics: bool | None = None,
    providers: Iterable[str] | None = None,
    content_max_chars: int | None = None,
    shutdown_timeout_s: float | None = None,
    pricing: Any = None,
    extra_start_stages: Iterable[Stage] = (),
    extra_end_stages: Iterable[Stage] = (),
) -> None:
    """Trace every Anthropic and OpenAI SDK call in this process. Calling it again does nothing.

    With no `tracer_provider`/`meter_provider` given and none configured globally, OTLP providers are created from the
    standard `OTEL_*` variables and registered globally. A setting firsttoken cannot use raises `ConfigError`
    naming it. `pricing` takes negotiated prices (a dict, a JSON/TOML file path, or `PricingOverrides`; default: the
    file named by FIRSTTOKEN_PRICING_FILE); a bad one raises `PricingConfigError` naming the file and key.
    """
    global _state
    with _lock:
        if _state is not None:
            return
        settings = config.resolve(
            capture_content=capture_content,
            anthropic_native_spans=anthropic_native_spans,
            content_max_chars=content_max_chars,
            metrics=metrics,
            providers=providers,
            shutdown_timeout_s=shutdown_timeout_s,
        )
        pricer = Pricer(load_pricing(pricing))  # a bad override fails here, before anything is installed
        pricer.preload()
        otel = resolve_providers(tracer_provider, meter_provider, want_metrics=settings.metrics)
        tracer = otel.tracer_provider.get_tracer("firsttoken", __version__)
        metrics_recorder = GenAIMetrics(otel.meter_provider) if otel.meter_provider is not None else None

        start_stages, end_stages = content_stages(settings)
        task_start, task_end = task_stages()
        start_stages = [task_start, inference_stage(), *start_stages]
        # Order matters: the task rollup reads the cost.
        end_stages = [validation_stage(), cost_stage(pricer), *end_stages, task_end]
        rt = Runtime(
            tracer=tracer,
            metrics=metrics_recorder,
            settings=settings,
            start_stages=[*start_stages, *extra_start_stages],
            end_stages=[*end_stages, *extra_end_stages],
        )
        plugins: list[ProviderPlugin] = []
        patches: list[_Patch] = []
        for name in settings.providers:
            plugin = _load_plugin(name)
            if plugin is None:
                logger.debug("firsttoken: %s SDK not installed; not instrumented", name)
                continue
            plugin.defer_to_native = name == "anthropic" and settings.native_spans is config.NativeSpans.KEEP
            _install(rt, plugin, patches)
            plugins.append(plugin)
        register_atexit(otel.owned, settings.shutdown_timeout_s)
        _state = _Instrumented(rt, otel, plugins, patches)


def uninstrument() -> None:
    """Remove every hook, restoring the SDKs' original functions; flush what firsttoken recorded so far."""
    global _state
    with _lock:
        state = _state
        if state is None:
            return
        for patch in reversed(state.patches):
            setattr(patch.owner, patch.name, patch.original)
        _state = None
        if state.runtime.metrics is not None:
            state.runtime.metrics.shutdown()
        for provider in state.providers.owned:
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                try:
                    flush(int(state.runtime.settings.shutdown_timeout_s * 1000))
                except Exception:
                    logger.debug("firsttoken: flush failed", exc_info=True)


def shutdown(timeout_s: float | None = None) -> bool:
    """Flush and shut down the providers firsttoken created, waiting at most `timeout_s` (default: the setting)."""
    with _lock:
        state = _state
    if state is None:
        return True
    if state.runtime.metrics is not None:
        state.runtime.metrics.shutdown()
    budget = timeout_s if timeout_s is not None else state.runtime.settings.shutdown_timeout_s
    return bounded_shutdown(state.providers.owned, budget)


def current_runtime() -> Runtime | None:
    state = _state
    return state.runtime if state is not None else None


def is_instrumented() -> bool:
    return _state is not None
