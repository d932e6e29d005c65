"""A local fake of the Anthropic and OpenAI HTTP APIs for tests, demos and benchmarks.

The real `anthropic` / `openai` clients talk to it through `base_url` (over
`FakeProviderServer`) or an in-process httpx2 transport (`mock_transport`), and
parse every answer into their typed models. Per-request `x-fake-*` headers
control latency, output shape, prompt caching and faults: see docs/fake-provider.md.
"""

from typing import TYPE_CHECKING, Any

from firsttoken.testing.fake_provider.config import FakeProviderConfig
from firsttoken.testing.fake_provider.controls import CONTROL_HEADERS, ControlError, Controls, parse_controls
from firsttoken.testing.fake_provider.core import FakeProvider
from firsttoken.testing.fake_provider.http_server import FakeProviderServer
from firsttoken.testing.fake_provider.response import FakeResponse, Fault

if TYPE_CHECKING:
    from firsttoken.testing.fake_provider.httpx_transport import async_mock_transport, mock_transport

__all__ = [
    "CONTROL_HEADERS",
    "ControlError",
    "Controls",
    "FakeProvider",
    "FakeProviderConfig",
    "FakeProviderServer",
    "FakeResponse",
    "Fault",
    "async_mock_transport",
    "mock_transport",
    "parse_controls",
]


def __getattr__(name: str) -> Any:
    # The mock transports need httpx2 (an SDK dependency); the server and the CLI need
    # only the standard library, so they must import without it.
    if name in ("mock_transport", "async_mock_transport"):
        from firsttoken.testing.fake_provider import httpx_transport

        return getattr(httpx_transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
