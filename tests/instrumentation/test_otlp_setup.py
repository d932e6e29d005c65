"""With no OpenTelemetry configured, instrument() exports over OTLP/HTTP per the standard OTEL_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_CHILD = textwrap.dedent(
    """
    import anthropic, firsttoken
    from firsttoken.testing import FakeProviderServer
    firsttoken.instrument()
    with FakeProviderServer() as server, anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as c:
        c.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert firsttoken.shutdown(5.0)
    """
)


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def _export_from_child(child: str, **env: str) -> list[tuple[str, dict[str, str], bytes]]:
    """Run `child` with the OTLP endpoint pointing at a local receiver; what the receiver got (path, headers, body)."""
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        environment = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, **env}
        result = subprocess.run(
            [sys.executable, "-c", child], env=environment, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    finally:
        server.shutdown()
        server.server_close()
    return _Receiver.received


def test_default_providers_export_otlp_http_with_service_name_and_headers() -> None:
    received = _export_from_child(
        _CHILD,
        OTEL_EXPORTER_OTLP_HEADERS="x-team=voice",
        OTEL_SERVICE_NAME="voice-agent",
        OTEL_METRICS_EXPORTER="none",
    )
    traces = [(h, b) for path, h, b in received if path == "/v1/traces"]
    assert traces, received
    headers, body = traces[0]
    assert headers.get("x-team") == "voice"
    assert headers.get("content-type") == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    resource = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "voice-agent"
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert [s.name for s in spans] == ["chat claude-haiku-4-5"]


def test_default_meter_provider_exports_the_genai_histograms_aggregated_by_firsttoken() -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    child = _CHILD.replace(
        "firsttoken.instrument()",
        "firsttoken.instrument()\n"
        "from firsttoken.core.histograms import hub_for\n"
        "from opentelemetry import metrics\n"
        "assert hub_for(metrics.get_meter_provider()) is not None",
    )
    received = _export_from_child(
        child, OTEL_TRACES_EXPORTER="none", OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="delta"
    )
    bodies = [b for path, _, b in received if path == "/v1/metrics"]
    assert bodies, received
    histograms: dict[str, list[Any]] = {}
    for body in bodies:
        request = ExportMetricsServiceRequest.FromString(body)
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.HasField("histogram"):
                        assert sm.scope.name == "firsttoken"
                        assert m.histogram.aggregation_temporality == 1  # delta, as the exporter asked
                        histograms.setdefault(m.name, []).extend(m.histogram.data_points)
    (duration,) = histograms["gen_ai.client.operation.duration"]
    assert duration.count == 1
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    attrs = {a.key: a.value.string_value for a in duration.attributes}
    assert attrs["gen_ai.request.model"] == "claude-haiku-4-5"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    tokens = histograms["gen_ai.client.token.usage"]
    assert sorted({a.key: a.value.string_value for a in p.attributes}["gen_ai.token.type"] for p in tokens) == [
        "input",
        "output",
    ]
    assert all(p.count == 1 and p.sum > 0 for p in tokens)
