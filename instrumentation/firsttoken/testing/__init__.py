"""Test utilities for code that uses firsttoken: a fake Anthropic/OpenAI provider.

Importing this package needs only the standard library; `mock_transport` and
`async_mock_transport` additionally need httpx2 (which the SDKs depend on) and
load it on first use.
"""

from typing import TYPE_CHECKING, Any

from firsttoken.testing.fake_provider import (
    CONTROL_HEADERS,
    ControlError,
    Controls,
    FakeProvider,
    FakeProviderConfig,
    FakeProviderServer,
    FakeResponse,
    Fault,
    parse_controls,
)

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
    # Lazy, like the subpackage: only the mock transports need httpx2.
    if name in ("mock_transport", "async_mock_transport"):
        from firsttoken.testing import fake_provider

        return getattr(fake_provider, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
