"""`firsttoken.attributes(...)`: user, tenant and feature tags stamped on every LLM span inside a block.

Tags live in a ContextVar, so they follow the code into asyncio tasks and `gather` by themselves, and into threads
with `firsttoken.in_context` (see tasks.py). Nested blocks merge, inner values winning.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from opentelemetry.util.types import AttributeValue

# An immutable empty default: blocks replace the mapping, never mutate it.
TAGS: contextvars.ContextVar[Mapping[str, AttributeValue]] = contextvars.ContextVar(
    "firsttoken_tags", default=MappingProxyType({})
)

# Well-known tags map to the attribute names the collector's columns and the dashboards read.
_NAMES = {"user": "user.id", "tenant": "firsttoken.tenant", "feature": "firsttoken.feature"}


def tag_attribute(key: str) -> str:
    return _NAMES.get(key, key if "." in key else f"firsttoken.tag.{key}")


def _valid(key: str, value: object) -> AttributeValue:
    if isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"firsttoken.attributes({key}=...): values must be str, bool, int or float, got {type(value)}")


@contextmanager
def attributes(**tags: object) -> Iterator[None]:
    """Stamp these tags on every LLM span started inside the block: `user=`, `tenant=`, `feature=` map to
    `user.id`, `firsttoken.tenant`, `firsttoken.feature`; other keys to `firsttoken.tag.<key>` (or as given when
    they contain a dot)."""
    merged = {**TAGS.get(), **{tag_attribute(k): _valid(k, v) for k, v in tags.items()}}
    token = TAGS.set(merged)
    try:
        yield
    finally:
        TAGS.reset(token)
