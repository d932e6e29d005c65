"""Error bodies in each provider's real wire format.

The SDKs pick their typed exceptions from the status code, and they surface the
body as `err.body` / `err.message`; instrumentation that records error types reads
exactly these fields, so the shapes mirror the real APIs.
"""

from __future__ import annotations

import enum

from firsttoken.testing.fake_provider.sse import dumps


class Flavor(enum.Enum):
    """Which provider's conventions (error shape, request-id header) a route follows."""

    ANTHROPIC = "anthropic"
    OPENAI = "openai"

    @property
    def request_id_header(self) -> str:
        """Anthropic answers with `request-id`, OpenAI with `x-request-id`."""
        return "request-id" if self is Flavor.ANTHROPIC else "x-request-id"


# status -> (Anthropic error type, OpenAI error type, OpenAI error code)
_TYPES: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "invalid_request_error", None),
    404: ("not_found_error", "invalid_request_error", "unknown_url"),
    405: ("invalid_request_error", "invalid_request_error", "method_not_allowed"),
    429: ("rate_limit_error", "requests", "rate_limit_exceeded"),
    500: ("api_error", "server_error", None),
    503: ("api_error", "service_unavailable", "service_unavailable"),
    529: ("overloaded_error", "server_error", "overloaded"),
}


class ApiError(Exception):
    """A failure the fake reports to the client as an HTTP error in the provider's format.

    Raised from anywhere in request handling (a bad control header, a request the real
    API would reject); the core turns it into a response, so handlers stay linear.
    """

    def __init__(self, status: int, message: str, *, param: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.param = param


def error_body(flavor: Flavor, error: ApiError, request_id: str) -> bytes:
    """Serialise `error` the way the provider would, including its request id."""
    anthropic_type, openai_type, openai_code = _TYPES.get(error.status, ("api_error", "server_error", None))
    if flavor is Flavor.ANTHROPIC:
        return dumps(
            {
                "type": "error",
                "error": {"type": anthropic_type, "message": error.message},
                "request_id": request_id,
            }
        )
    return dumps(
        {
            "error": {
                "message": error.message,
                "type": openai_type,
                "param": error.param,
                "code": openai_code,
            }
        }
    )
