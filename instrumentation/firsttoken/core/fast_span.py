"""Put a call's ~20 end-of-call attributes on its span for a fraction of the SDK's per-attribute price.

`Span.set_attributes` validates and cleans every value under a lock, one key at a time: about 1.5 microseconds per
attribute on the CI machine, which alone would spend most of firsttoken's per-call budget. The values built here are
already valid OpenTelemetry attribute values by construction (str, bool, int, float, or tuples of one of them), so when
the span is the OpenTelemetry SDK's own, with no value-length limit and room under its attribute limit, they go into
its attribute dict in one update. Anything else — another SDK, a limit in force, a span already ended — takes the
public API, which is always correct.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

try:
    from opentelemetry.attributes import BoundedAttributes

    _probe = BoundedAttributes(maxlen=4, attributes={"k": "v"}, immutable=False)
    _FAST_PATH_OK = isinstance(getattr(_probe, "_dict", None), dict) and hasattr(_probe, "_lock")
    del _probe
except Exception:  # pragma: no cover - a future SDK without BoundedAttributes internals
    BoundedAttributes = None  # type: ignore[assignment,misc]
    _FAST_PATH_OK = False


def set_many(span: Span, attributes: Mapping[str, AttributeValue], *, adopt: bool = False) -> None:
    """Set `attributes` on `span`; values must already be valid attribute values (see module docstring).

    With `adopt=True` the caller hands over a dict it will not touch again, and a span with no attributes yet takes
    it as its own instead of copying it.
    """
    if not attributes:
        return
    bounded = getattr(span, "_attributes", None)
    if (
        type(bounded) is BoundedAttributes
        and _FAST_PATH_OK
        and bounded.max_value_len is None
        and not bounded._immutable
        and span._end_time is None  # type: ignore[attr-defined]
        and (bounded.maxlen is None or len(bounded._dict) + len(attributes) <= bounded.maxlen)
    ):
        with bounded._lock:
            if adopt and not bounded._dict and type(attributes) is dict:
                bounded._dict = attributes
            else:
                bounded._dict.update(attributes)
        return
    span.set_attributes(attributes)
