"""The ClickHouse schema: versioned migrations (exporter tables, typed LLM tables filled by materialized views,
rollups) and the price table the cost materialized view reads.

`migrate` applies the migrations, `render` prints their SQL, `sync_prices` reloads prices from genai-prices.
"""

from __future__ import annotations

from .migrate import MigrationChecksumError, migrate, render
from .prices import sync_prices
from .render import SchemaOptions

__all__ = ["MigrationChecksumError", "SchemaOptions", "migrate", "render", "sync_prices"]
