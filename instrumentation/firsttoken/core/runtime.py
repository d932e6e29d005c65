"""The live instrumentation: tracer, metrics, settings, and the per-call steps the request hooks run.

Every method here runs inside the application's call path, so each one is guarded by its caller (see `hooks`): a
fault is logged once and the SDK's own result or exception is returned exactly as if firsttoken were absent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from firsttoken.config import Settings
from firsttoken.core.call import LLMCall
from firsttoken.core.errors import classify_error
from firsttoken.core.fast_span import span_starter
from firsttoken.core.metrics import GenAIMetrics
from firsttoken.core.plugin import RESULT_STREAM, RESULT_WRAPPER, ProviderPlugin
from firsttoken.core.response_proxy import record_body, try_read_body


def sampler_ignores_attributes(sampler: Any) -> bool:
    """True for the OpenTelemetry SDK's built-in samplers (always on/off, trace-id ratio, parent-based over those),
    which decide without looking at span attributes. Anything else, or an unknown tracer, gets the attributes."""
    try:
        from opentelemetry.sdk.trace.sampling import ParentBased, StaticSampler, TraceIdRatioBased
    except ImportError:  # pragma: no cover - API-only installs
        return False
    if isinstance(sampler, (StaticSampler, TraceIdRatioBased)):
        return True
    if isinstance(sampler, ParentBased):
        delegates = [getattr(sampler, f"_{n}", None) for n in ("root", "remote_parent_sampled",
                     "remote_parent_not_sampled", "local_parent_sampled", "local_parent_not_sampled")]  # fmt: skip
        return all(d is not None and sampler_ignores_attributes(d) for d in delegates)
    return False


# A stage adds attributes when a call starts or ends (content capture, cost, tools, tasks...).
Stage = Callable[[LLMCall, dict[str, AttributeValue]], None]


class Runtime:
    def __init__(
        self,
        *,
        tracer: Tracer,
        metrics: GenAIMetrics | None,
        settings: Settings,
        start_stages: Sequence[Stage] = (),
        end_stages: Sequence[Stage] = (),
    ) -> None:
        self.tracer = tracer
        self.metrics = metrics
        self.settings = settings
        self.start_stages = tuple(start_stages)
        self.end_stages = tuple(end_stages)
        self.sampler_reads_attributes = not sampler_ignores_attributes(getattr(tracer, "sampler", None))
        self.start_span = span_starter(tracer)
        self.capture_enabled = settings.capture.enabled

    def begin(
        self, plugin: ProviderPlugin, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> LLMCall | None:
        """Start a call's span if this request is an LLM call firsttoken traces; None leaves the request untouched."""
        options = args[1] if len(args) > 1 else kwargs.get("options")
        url = getattr(options, "url", None)
        if type(url) is not str or plugin.defer_to_native:
            return None
        endpoint = plugin.endpoints.get(url.partition("?")[0])
        if endpoint is None or getattr(options, "method", None) not in ("post", "POST"):
            return None
        cached = plugin.clients.get(id(client))  # `client_identity`'s cache, read without the call
        if cached is not None and cached[0] is getattr(client, "_base_url", None):
            provider, server = cached[1]
        else:
            provider, server = plugin.client_identity(client)
        return LLMCall(self, plugin, endpoint, provider, server, plugin.body(options), kwargs.get("stream") is True)

    def observe(self, call: LLMCall, result: Any) -> Any:
        """Record a returned result; streams and unread response wrappers come back proxied, all else unchanged."""
        plugin = call.plugin
        kind = plugin.result_kinds.get(type(result))  # `result_kind`'s cache, read without the call
        if kind is None:
            kind = plugin.result_kind(result)
        if kind == RESULT_STREAM:
            proxy_cls = plugin.stream_proxy_class(result)
            if proxy_cls is not None:
                return proxy_cls(result, call, call.endpoint.stream_recorder(call.facts))
        elif kind == RESULT_WRAPPER:
            body = try_read_body(result)
            if body is not None:
                record_body(call, result, body)
                return result
            return plugin.response_proxy_class(result)(result, call)
        call.endpoint.read_response(result, call.facts)
        call.end()
        return result

    def fail(self, call: LLMCall, exc: BaseException) -> None:
        call.end(error=classify_error(exc), exception=exc)
