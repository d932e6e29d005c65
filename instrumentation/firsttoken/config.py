"""What `instrument()` is told, from its arguments and the environment, validated once at start.

A bad value fails `instrument()` with a message that names the setting: a typo in a deployment's environment should
stop the service at boot, not silently disable content capture or tracing.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ENV_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_NATIVE_SPANS = "FIRSTTOKEN_ANTHROPIC_NATIVE_SPANS"
ENV_CONTENT_MAX_CHARS = "FIRSTTOKEN_CONTENT_MAX_CHARS"
ENV_METRICS = "FIRSTTOKEN_METRICS"
ENV_PROVIDERS = "FIRSTTOKEN_PROVIDERS"
ENV_SHUTDOWN_TIMEOUT = "FIRSTTOKEN_SHUTDOWN_TIMEOUT_SECONDS"

KNOWN_PROVIDERS = ("anthropic", "openai")


class ConfigError(ValueError):
    """A setting has a value firsttoken cannot use; the message names the setting."""


class CaptureMode(enum.Enum):
    """Where prompt and completion content goes. Off unless the operator opts in."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        return self in (CaptureMode.SPAN_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def as_event(self) -> bool:
        return self in (CaptureMode.EVENT_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def enabled(self) -> bool:
        return self is not CaptureMode.NO_CONTENT

    @classmethod
    def parse(cls, value: str | CaptureMode | bool, setting: str) -> CaptureMode:
        if isinstance(value, CaptureMode):
            return value
        if isinstance(value, bool):
            return cls.SPAN_ONLY if value else cls.NO_CONTENT
        text = value.strip()
        legacy = {"true": cls.SPAN_ONLY, "false": cls.NO_CONTENT, "": cls.NO_CONTENT}
        if text.lower() in legacy:
            return legacy[text.lower()]
        try:
            return cls(text.upper())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ConfigError(f"{setting}={value!r} is not one of {allowed} (or legacy true/false)") from None


class NativeSpans(enum.Enum):
    """What to do about the Anthropic SDK's own span (anthropic >= 2.x traces every call by default).

    SUPPRESS: firsttoken's span replaces the SDK's, so each call yields exactly one LLM span. firsttoken's span carries
    every attribute the SDK's does plus cost, cache, tool and structured-output outcomes.
    KEEP: firsttoken emits no span of its own for Anthropic calls and leaves the SDK's in place (the collector still
    lands them in `llm_calls` and prices them); OpenAI calls are traced by firsttoken as usual.
    """

    SUPPRESS = "suppress"
    KEEP = "keep"

    @classmethod
    def parse(cls, value: str | NativeSpans, setting: str) -> NativeSpans:
        if isinstance(value, NativeSpans):
            return value
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ConfigError(f"{setting}={value!r} is not one of suppress, keep") from None


@dataclass(frozen=True)
class Settings:
    capture: CaptureMode = CaptureMode.NO_CONTENT
    native_spans: NativeSpans = NativeSpans.SUPPRESS
    content_max_chars: int = 16_384
    metrics: bool = True
    providers: tuple[str, ...] = KNOWN_PROVIDERS
    shutdown_timeout_s: float = 5.0
    extra: Mapping[str, object] = field(default_factory=dict)


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (true/false)")


def _positive_number(value: object, setting: str, kind: type[int] | type[float]) -> float:
    try:
        number = kind(value)  # type: ignore[call-overload,arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{setting}={value!r} is not a number") from None
    if number <= 0:
        raise ConfigError(f"{setting}={value!r} must be greater than zero")
    return number


def _providers(value: Iterable[str] | str, setting: str) -> tuple[str, ...]:
    items = [p.strip().lower() for p in (value.split(",") if isinstance(value, str) else value) if p.strip()]
    unknown = sorted(set(items) - set(KNOWN_PROVIDERS))
    if unknown:
        raise ConfigError(f"{setting}: unknown provider(s) {', '.join(unknown)}; known: {', '.join(KNOWN_PROVIDERS)}")
    return tuple(dict.fromkeys(items))


def resolve(
    *,
    capture_content: str | CaptureMode | bool | None = None,
    anthropic_native_spans: str | NativeSpans | None = None,
    content_max_chars: int | None = None,
    metrics: bool | None = None,
    providers: Iterable[str] | None = None,
    shutdown_timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Arguments win over the environment; the environment wins over defaults."""
    env = os.environ if env is None else env
    capture = (
        CaptureMode.parse(capture_content, "capture_content")
        if capture_content is not None
        else CaptureMode.parse(env.get(ENV_CAPTURE_CONTENT, ""), ENV_CAPTURE_CONTENT)
    )
    native = (
        NativeSpans.parse(anthropic_native_spans, "anthropic_native_spans")
        if anthropic_native_spans is not None
        else NativeSpans.parse(env.get(ENV_NATIVE_SPANS, "suppress"), ENV_NATIVE_SPANS)
    )
    max_chars = int(
        _positive_number(content_max_chars, "content_max_chars", int)
        if content_max_chars is not None
        else _positive_number(env.get(ENV_CONTENT_MAX_CHARS, "16384"), ENV_CONTENT_MAX_CHARS, int)
    )
    shutdown = (
        _positive_number(shutdown_timeout_s, "shutdown_timeout_s", float)
        if shutdown_timeout_s is not None
        else _positive_number(env.get(ENV_SHUTDOWN_TIMEOUT, "5"), ENV_SHUTDOWN_TIMEOUT, float)
    )
    return Settings(
        capture=capture,
        native_spans=native,
        content_max_chars=max_chars,
        metrics=metrics if metrics is not None else _env_bool(env, ENV_METRICS, True),
        providers=(
            _providers(providers, "providers")
            if providers is not None
            else _providers(env.get(ENV_PROVIDERS, ",".join(KNOWN_PROVIDERS)), ENV_PROVIDERS)
        ),
        shutdown_timeout_s=shutdown,
    )
