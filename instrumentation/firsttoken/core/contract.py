"""The small contract between the shared core and a provider module (anthropic, openai).

A provider says which HTTP requests are LLM calls (`Endpoint`s found by path), reads a request body into a
`RequestInfo`, a finished response object into `CallFacts`, and hands the core a per-stream recorder that updates
`CallFacts` event by event. Output text and tool-call arguments are kept only when `CallFacts.output_parts` /
`CallFacts.tool_arguments` are lists (the core decides; readers check for None).
Everything else — spans, timing, errors, retries, metrics, streams and proxies — is the
core's, shared by every provider and by sync and async clients.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from opentelemetry.util.types import AttributeValue

from firsttoken.core.facts import CallFacts

# Records one stream event into the call's facts. Called once per chunk: must be cheap and allocation-free.
StreamRecorder = Callable[[Any], None]


class RequestInfo:
    """What the request asked for, read once when the call starts."""

    __slots__ = ("attributes", "content", "messages", "model", "stream", "structured", "tools")

    def __init__(
        self,
        model: str | None,
        attributes: dict[str, AttributeValue],
        stream: bool = False,
        tools: Any = None,
        structured: Any = None,
        content: Mapping[str, Any] | None = None,
        messages: Any = None,
    ) -> None:
        self.model = model
        self.attributes = attributes
        self.stream = stream
        # The request's tool definitions and requested output schema, raw, for validation by later stages.
        self.tools = tools
        self.structured = structured
        # The request body, kept only when content capture is on.
        self.content = content
        # The conversation sent (a list, by reference; never a one-shot iterable), for tool-outcome inference.
        self.messages = messages


class Endpoint(Protocol):
    """One API operation of one provider, e.g. Anthropic `POST /v1/messages`."""

    operation: str
    surface: str

    def read_request(self, body: Mapping[str, Any], keep_content: bool) -> RequestInfo: ...

    def read_response(self, response: Any, facts: CallFacts) -> None: ...

    def stream_recorder(self, facts: CallFacts) -> StreamRecorder: ...


class ErrorInfo:
    __slots__ = ("category", "error_type", "status_code")

    def __init__(self, error_type: str, category: str, status_code: int | None = None) -> None:
        self.error_type = error_type
        self.category = category
        self.status_code = status_code
