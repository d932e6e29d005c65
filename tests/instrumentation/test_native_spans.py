"""The Anthropic SDK (>= 2.x) traces itself: with firsttoken there is still exactly one LLM span per call."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

import firsttoken
from firsttoken.testing import FakeProviderServer
from tests.instrumentation.conftest import EXPORTER, Telemetry

pytestmark = pytest.mark.skipif(
    not hasattr(anthropic, "__version__") or int(anthropic.__version__.split(".")[0]) < 2,
    reason="only anthropic >= 2 traces itself",
)


def ask() -> dict[str, Any]:
    return {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


def scopes() -> list[str]:
    return [s.instrumentation_scope.name for s in EXPORTER.get_finished_spans() if s.instrumentation_scope]


def test_sdk_traces_itself_without_firsttoken(server: FakeProviderServer) -> None:
    """The premise: uninstrumented, the SDK's own span is there (so the tests below can fail)."""
    EXPORTER.clear()
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
        client.messages.create(**ask())
    assert scopes() == ["com.anthropic.sdk.python"]
    EXPORTER.clear()


def test_suppressed_by_default(server: FakeProviderServer, telemetry: Telemetry) -> None:
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
        client.messages.create(**ask())
        with client.messages.stream(**ask()) as stream:
            stream.until_done()
    assert scopes() == ["firsttoken", "firsttoken"]


def test_other_sdk_spans_are_kept(server: FakeProviderServer, telemetry: Telemetry) -> None:
    """Only API calls firsttoken traces lose the SDK's span; e.g. models.list keeps it."""
    with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
        try:
            client.models.list()
        except anthropic.APIStatusError:
            pass  # the fake does not serve /v1/models; the SDK still traced the attempt
    assert scopes() == ["com.anthropic.sdk.python"]


def test_keep_mode_leaves_only_the_sdk_spans(server: FakeProviderServer) -> None:
    firsttoken.instrument(anthropic_native_spans="keep")
    EXPORTER.clear()
    try:
        with anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url) as client:
            client.messages.create(**ask())
        assert scopes() == ["com.anthropic.sdk.python"]
    finally:
        firsttoken.uninstrument()
        EXPORTER.clear()
