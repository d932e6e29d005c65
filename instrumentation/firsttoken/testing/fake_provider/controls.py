"""Per-request control headers (`x-fake-*`) parsed into one frozen value.

Tests steer the fake through headers because every SDK call accepts
`extra_headers=` (and clients accept `default_headers=`) without touching the
request body the instrumentation under test observes. A malformed or unknown
control is a 400 rather than being ignored: a typo must never silently turn a
fault test into a happy-path test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from firsttoken.testing.fake_provider.config import FakeProviderConfig

PREFIX = "x-fake-"
RETRY_COUNT_HEADER = "x-stainless-retry-count"

ToolCallMode = Literal["valid", "malformed", "schema-violating"]
StructuredMode = Literal["valid", "invalid-json", "schema-violating"]
FaultKind = Literal["429", "500", "503", "529", "hang", "drop"]

TOOL_CALL_MODES: tuple[ToolCallMode, ...] = ("valid", "malformed", "schema-violating")
STRUCTURED_MODES: tuple[StructuredMode, ...] = ("valid", "invalid-json", "schema-violating")
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "503", "529", "hang", "drop")


class ControlError(ValueError):
    """A control header the fake cannot honour; reported to the client as a 400."""


@dataclass(frozen=True)
class Controls:
    """Everything a request asked of the fake, with server defaults filled in.

    See docs/fake-provider.md for the header behind each field.
    """

    ttft_ms: float
    token_ms: float
    output_tokens: int
    text: str | None = None
    tool_call: ToolCallMode | None = None
    tool_name: str | None = None
    tool_calls: int = 1
    structured: StructuredMode = "valid"
    refusal: bool = False
    thinking_tokens: int | None = None
    fault: FaultKind | None = None
    retry_after_s: float = 0.0
    hang_s: float = 30.0
    drop_after: int = 2
    fault_attempts: int | None = None
    cache: bool = True
    cache_min_tokens: int = 0
    response_model: str | None = None
    attempt: int = 0

    @property
    def fault_active(self) -> bool:
        """Whether this attempt gets the fault: `x-fake-fault-attempts` limits it to the first N."""
        if self.fault is None:
            return False
        return self.fault_attempts is None or self.attempt < self.fault_attempts

    @property
    def ttft_s(self) -> float:
        """TTFT in seconds."""
        return self.ttft_ms / 1000.0

    @property
    def token_s(self) -> float:
        """Inter-chunk delay in seconds."""
        return self.token_ms / 1000.0


T = TypeVar("T")


def _non_negative_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ControlError(f"{name} must be a number, got {raw!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ControlError(f"{name} must be a finite number >= 0, got {raw!r}")
    return value


def _int_at_least(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ControlError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise ControlError(f"{name} must be >= {minimum}, got {value}")
        return value

    return parse


def _choice(options: tuple[T, ...]) -> Callable[[str, str], T]:
    def parse(name: str, raw: str) -> T:
        value = raw.strip().lower()
        for option in options:
            if value == option:
                return option
        raise ControlError(f"{name} must be one of {', '.join(map(str, options))}; got {raw!r}")

    return parse


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ControlError(f"{name} must be 1/0, true/false, on/off; got {raw!r}")


def _text(name: str, raw: str) -> str:
    if not raw:
        raise ControlError(f"{name} must not be empty")
    return raw


# header suffix -> (Controls field, parser)
_PARSERS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "ttft-ms": ("ttft_ms", _non_negative_float),
    "token-ms": ("token_ms", _non_negative_float),
    "output-tokens": ("output_tokens", _int_at_least(1)),
    "text": ("text", _text),
    "tool-call": ("tool_call", _choice(TOOL_CALL_MODES)),
    "tool-name": ("tool_name", _text),
    "tool-calls": ("tool_calls", _int_at_least(1)),
    "structured": ("structured", _choice(STRUCTURED_MODES)),
    "refusal": ("refusal", _flag),
    "thinking": ("thinking_tokens", _int_at_least(0)),
    "fault": ("fault", _choice(FAULT_KINDS)),
    "retry-after": ("retry_after_s", _non_negative_float),
    "hang-s": ("hang_s", _non_negative_float),
    "drop-after": ("drop_after", _int_at_least(0)),
    "fault-attempts": ("fault_attempts", _int_at_least(0)),
    "cache": ("cache", _flag),
    "cache-min-tokens": ("cache_min_tokens", _int_at_least(0)),
    "response-model": ("response_model", _text),
}

CONTROL_HEADERS: tuple[str, ...] = tuple(PREFIX + suffix for suffix in _PARSERS)
"""Every header the fake understands, for docs and error messages."""


def parse_controls(headers: Mapping[str, str], config: FakeProviderConfig) -> Controls:
    """Build `Controls` from request headers (any case), falling back to `config`.

    Raises:
        ControlError: an `x-fake-*` header is unknown or its value is invalid.
    """
    values: dict[str, object] = {
        "ttft_ms": config.ttft_ms,
        "token_ms": config.token_ms,
        "output_tokens": config.output_tokens,
        "hang_s": config.hang_s,
        "drop_after": config.drop_after,
        "cache_min_tokens": config.cache_min_tokens,
    }
    for raw_name, raw_value in headers.items():
        name = raw_name.lower()
        if name == RETRY_COUNT_HEADER:
            try:
                values["attempt"] = max(0, int(raw_value))
            except ValueError:
                pass  # not ours to validate; treat as a first attempt
            continue
        if not name.startswith(PREFIX):
            continue
        try:
            field_name, parser = _PARSERS[name[len(PREFIX) :]]
        except KeyError:
            raise ControlError(f"unknown control header {name!r}; known: {', '.join(CONTROL_HEADERS)}") from None
        values[field_name] = parser(name, raw_value)
    return Controls(**values)  # type: ignore[arg-type]
