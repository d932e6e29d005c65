"""Test utilities for code that uses firsttoken: a fake Anthropic/OpenAI provider.

The public names are the fake provider's (`firsttoken.testing.fake_provider.__all__`), re-exported. Importing this
package needs only the standard library; `mock_transport` and `async_mock_transport` additionally need httpx2
(which the SDKs depend on) and load it on first use.
"""

from typing import TYPE_CHECKING, Any

from firsttoken.testing import fake_provider
from firsttoken.testing.fake_provider import *  # noqa: F403
from firsttoken.testing.fake_provider import __all__ as __all__

if TYPE_CHECKING:
    from firsttoken.testing.fake_provider.httpx_transport import async_mock_transport as async_mock_transport
    from firsttoken.testing.fake_provider.httpx_transport import mock_transport as mock_transport


def __getattr__(name: str) -> Any:
    return getattr(fake_provider, name)  # the lazy transports
