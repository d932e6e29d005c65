"""instrument()/uninstrument(), configuration, content capture, secrets, metrics and bounded shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import anthropic
import openai
import pytest

import firsttoken
from firsttoken import config
from firsttoken.testing import FakeProviderServer
from tests.instrumentation.conftest import EXPORTER, Telemetry


def test_instrument_is_idempotent(server: FakeProviderServer, telemetry: Telemetry) -> None:
    firsttoken.instrument()
    firsttoken.instrument()
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
        client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert len(telemetry.client_spans()) == 1


def test_uninstrument_restores_the_original_functions(server: FakeProviderServer) -> None:
    targets = [
        (anthropic._base_client.SyncAPIClient, "request"),
        (anthropic._base_client.AsyncAPIClient, "request"),
        (anthropic._base_client.SyncAPIClient, "_sleep_for_retry"),
        (openai._base_client.SyncAPIClient, "request"),
        (openai._base_client.AsyncAPIClient, "request"),
    ]
    before = [owner.__dict__[name] for owner, name in targets]
    native_before = anthropic._base_client.BaseClient.__dict__.get("_tracer")
    firsttoken.instrument()
    assert all(owner.__dict__[name] is not orig for (owner, name), orig in zip(targets, before, strict=True))
    firsttoken.uninstrument()
    assert all(owner.__dict__[name] is orig for (owner, name), orig in zip(targets, before, strict=True))
    assert anthropic._base_client.BaseClient.__dict__.get("_tracer") is native_before
    EXPORTER.clear()
    quiet = {"open_telemetry": False} if "open_telemetry" in anthropic.Anthropic.__init__.__code__.co_varnames else {}
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, **quiet) as client:
        client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert EXPORTER.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVERYTHING"}, "OTEL_INSTRUMENTATION_GENAI_CAPTURE"),
        ({"FIRSTTOKEN_ANTHROPIC_NATIVE_SPANS": "both"}, "FIRSTTOKEN_ANTHROPIC_NATIVE_SPANS"),
        ({"FIRSTTOKEN_CONTENT_MAX_CHARS": "-1"}, "FIRSTTOKEN_CONTENT_MAX_CHARS"),
        ({"FIRSTTOKEN_METRICS": "maybe"}, "FIRSTTOKEN_METRICS"),
        ({"FIRSTTOKEN_PROVIDERS": "anthropic,gemini"}, "FIRSTTOKEN_PROVIDERS"),
    ],
)
def test_bad_settings_fail_with_the_setting_named(env: dict[str, str], setting: str) -> None:
    with pytest.raises(config.ConfigError, match=setting):
        config.resolve(env=env)


def test_bad_setting_fails_instrument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "yes please")
    with pytest.raises(firsttoken.ConfigError, match="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"):
        firsttoken.instrument()
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    firsttoken.instrument()  # nothing half-installed by the failed attempt
    firsttoken.uninstrument()


def test_capture_modes_parse() -> None:
    assert config.resolve(env={}).capture is config.CaptureMode.NO_CONTENT
    env = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    assert config.resolve(env={env: "span_only"}).capture is config.CaptureMode.SPAN_ONLY
    assert config.resolve(env={env: "true"}).capture is config.CaptureMode.SPAN_ONLY
    assert config.resolve(env={env: "false"}).capture is config.CaptureMode.NO_CONTENT
    assert config.resolve(env={env: "SPAN_AND_EVENT"}).capture is config.CaptureMode.SPAN_AND_EVENT


SECRET = "sk-ant-THIS-MUST-NEVER-APPEAR"


def _all_text(spans: Any) -> str:
    chunks = []
    for span in spans:
        chunks.append(json.dumps(dict(span.attributes or {}), default=str))
        for event in span.events:
            chunks.append(json.dumps(dict(event.attributes or {}), default=str))
    return "\n".join(chunks)


def _converse(server: FakeProviderServer) -> None:
    with anthropic.Anthropic(api_key=SECRET, base_url=server.anthropic_base_url) as client:
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=32,
            system="You are a pirate.",
            messages=[{"role": "user", "content": "Where is the treasure?"}],
            extra_headers={"x-fake-text": "Under the palm tree"},
        )


def test_content_is_off_by_default(server: FakeProviderServer, telemetry: Telemetry) -> None:
    _converse(server)
    text = _all_text(telemetry.spans())
    assert "treasure" not in text
    assert "palm tree" not in text
    assert "pirate" not in text
    assert SECRET not in text


@pytest.mark.parametrize("mode", ["SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT"])
def test_content_capture_modes(server: FakeProviderServer, mode: str) -> None:
    firsttoken.instrument(capture_content=mode)
    EXPORTER.clear()
    try:
        _converse(server)
        (span,) = [s for s in EXPORTER.get_finished_spans() if s.instrumentation_scope.name == "firsttoken"]
        attrs = dict(span.attributes or {})
        events = [e for e in span.events if e.name == "gen_ai.client.inference.operation.details"]
        on_span = mode in ("SPAN_ONLY", "SPAN_AND_EVENT")
        as_event = mode in ("EVENT_ONLY", "SPAN_AND_EVENT")
        assert ("gen_ai.input.messages" in attrs) is on_span
        assert bool(events) is as_event
        source = attrs if on_span else dict(events[0].attributes or {})
        messages = json.loads(source["gen_ai.input.messages"])
        assert messages == [{"role": "user", "parts": [{"type": "text", "content": "Where is the treasure?"}]}]
        assert json.loads(source["gen_ai.system_instructions"]) == [{"type": "text", "content": "You are a pirate."}]
        output = json.loads(source["gen_ai.output.messages"])
        assert output[0]["parts"][0]["content"] == "Under the palm tree"
        assert SECRET not in _all_text([span])
    finally:
        firsttoken.uninstrument()
        EXPORTER.clear()


def test_content_never_consumes_a_generator(server: FakeProviderServer) -> None:
    firsttoken.instrument(capture_content="SPAN_ONLY")
    try:
        messages = (m for m in [{"role": "user", "content": "one-shot"}])
        with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
            reply = client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=messages)
        assert reply.content  # the SDK still sent the messages
    finally:
        firsttoken.uninstrument()
        EXPORTER.clear()


def test_metrics_have_semconv_names_units_and_attributes(server: FakeProviderServer, telemetry: Telemetry) -> None:
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])
        for _ in client.messages.create(
            model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "y"}], stream=True
        ):
            pass
    all_points = telemetry.metric_points()
    # the reader is cumulative over the session: look at this test's model only
    points = {
        name: [p for p in values if getattr(p, "attributes", {}).get("gen_ai.request.model") == "claude-haiku-4-5"]
        for name, values in all_points.items()
        if not name.endswith("#unit")
    }
    duration = points["gen_ai.client.operation.duration"]
    assert all_points["gen_ai.client.operation.duration#unit"][0] == "s"
    assert sum(p.count for p in duration) >= 2
    assert list(duration[0].explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    attrs = dict(duration[0].attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-haiku-4-5"
    tokens = points["gen_ai.client.token.usage"]
    assert {dict(p.attributes)["gen_ai.token.type"] for p in tokens} == {"input", "output"}
    assert list(tokens[0].explicit_bounds)[:3] == [1, 4, 16]
    assert sum(p.count for p in points["gen_ai.client.operation.time_to_first_chunk"]) >= 1
    assert sum(p.count for p in points["gen_ai.client.operation.time_per_output_chunk"]) >= 1
    assert "gen_ai.server.time_to_first_token" not in all_points


_CHILD = textwrap.dedent(
    """
    import time, anthropic, firsttoken
    from firsttoken.testing import FakeProviderServer
    firsttoken.instrument()
    with FakeProviderServer() as server, anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as c:
        for _ in range(5):
            c.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    t = time.monotonic()
    ok = firsttoken.shutdown()
    print("SHUTDOWN", ok, round(time.monotonic() - t, 2))
    """
)


def test_shutdown_is_bounded_when_the_collector_is_down() -> None:
    """No provider configured: firsttoken builds OTLP ones from OTEL_*; an unreachable collector cannot hang exit."""
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_SERVICE_NAME": "shutdown-test",
        "FIRSTTOKEN_SHUTDOWN_TIMEOUT_SECONDS": "2",
        "FIRSTTOKEN_STRICT": "0",
    }
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    line = next(out for out in result.stdout.splitlines() if out.startswith("SHUTDOWN"))
    assert float(line.split()[2]) <= 2.5
    assert elapsed < 15  # the atexit handler is bounded too


def test_metrics_are_current_at_collection_after_reinstrumenting(server: FakeProviderServer) -> None:
    """A collection right after a call sees it, also after uninstrument()/instrument() cycles (the drain hook
    must survive the SDK returning the first-registered instrument of a name)."""
    from tests.instrumentation.conftest import READER

    for cycle in range(3):
        firsttoken.instrument()
        try:
            with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
                client.messages.create(
                    model=f"cycle-model-{cycle}", max_tokens=8, messages=[{"role": "user", "content": "x"}]
                )
            data = READER.get_metrics_data()
            models = {
                dict(p.attributes).get("gen_ai.request.model")
                for rm in data.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
                if m.name == "gen_ai.client.operation.duration"
                for p in m.data.data_points
            }
            assert f"cycle-model-{cycle}" in models
        finally:
            firsttoken.uninstrument()
    EXPORTER.clear()
