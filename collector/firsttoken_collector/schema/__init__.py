"""The ClickHouse schema: versioned migrations (exporter tables, typed LLM tables filled by materialized views,
rollups) and the price table the cost materialized view reads.

`migrate` applies the migrations, `render` prints their SQL, `apply_retention` brings an existing database's TTLs
to the configured retention, `sync_prices` reloads prices from genai-prices.
"""

from __future__ import annotations

from .migrate import MigrationChecksumError, migrate, render
from .prices import sync_prices
from .render import SchemaOptions
from .retention import RetentionChange, apply_retention

__all__ = [
    "MigrationChecksumError",
    "RetentionChange",
    "SchemaOptions",
    "apply_retention",
    "migrate",
    "render",
    "sync_prices",
]
