"""firsttoken: OpenTelemetry-native observability for the Anthropic and OpenAI Python SDKs.

One line in a service — `firsttoken.instrument()` — and every Anthropic and OpenAI call emits one GenAI span with
usage, cache hits, time to first token, tool calls and errors, plus the GenAI client metrics.
"""

from firsttoken._instrument import instrument, shutdown, uninstrument
from firsttoken._version import __version__
from firsttoken.config import CaptureMode, ConfigError, NativeSpans
from firsttoken.context_tags import attributes
from firsttoken.tasks import Task, current_task, in_context, task
from firsttoken.tools import ToolRun, tool

__all__ = [
    "CaptureMode",
    "ConfigError",
    "NativeSpans",
    "Task",
    "ToolRun",
    "__version__",
    "attributes",
    "current_task",
    "in_context",
    "instrument",
    "shutdown",
    "task",
    "tool",
    "uninstrument",
]
