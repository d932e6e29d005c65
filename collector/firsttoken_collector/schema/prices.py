"""Load genai-prices' model prices into the `prices` table the cost materialized view joins on.

No price is written by hand: every row comes from the installed genai-prices data (its bundled snapshot, or the
snapshot an application refreshed with `genai_prices.update_prices`). One row per model-matching clause, because the
view matches a model id against clauses (equals / prefix / suffix / contains / regex) in genai-prices' model order.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, Protocol

from .render import SchemaOptions

logger = logging.getLogger(__name__)

PRICE_COLUMNS: tuple[str, ...] = (
    "version",
    "provider_id",
    "model_id",
    "model_name",
    "priority",
    "match_kind",
    "pattern",
    "start_date",
    "input_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_1h_mtok",
    "output_mtok",
)
_PRICE_KEYS: tuple[str, ...] = (
    "input_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_1h_mtok",
    "output_mtok",
)
_EPOCH = dt.date(1970, 1, 1)
Tiers = list[tuple[int, float]]


class Client(Protocol):
    """The part of a clickhouse-connect client this module uses."""

    def command(self, cmd: str, parameters: Any = None, settings: Any = None) -> Any: ...

    def insert(
        self,
        table: str,
        data: Sequence[Sequence[Any]],
        column_names: Sequence[str] = ...,
        database: str | None = ...,
    ) -> Any: ...


def _clauses(match: Any) -> Iterator[tuple[str, str]]:
    """Flatten genai-prices' match logic into (kind, lower-cased pattern) clauses (any one matching is a match)."""
    name = type(match).__name__
    if name == "ClauseOr":
        for clause in match.or_:
            yield from _clauses(clause)
    elif name == "ClauseEquals":
        yield "equals", match.equals.lower()
    elif name == "ClauseStartsWith":
        yield "prefix", match.starts_with.lower()
    elif name == "ClauseEndsWith":
        yield "suffix", match.ends_with.lower()
    elif name == "ClauseContains":
        yield "contains", match.contains.lower()
    elif name == "ClauseRegex":
        yield "regex", match.regex
    else:
        # ClauseAnd (rare): not expressible as one clause; such a model stays unpriced in SQL.
        logger.debug("skipping price match clause %s", name)


def _tiers(value: Any) -> Tiers:
    """A price as ascending (threshold, USD per million) pairs; (0, base) first; [] when the unit is unpriced."""
    if value is None:
        return []
    if isinstance(value, Decimal):
        return [(0, float(value))]
    return [(0, float(value.base)), *((int(tier.start), float(tier.price)) for tier in value.tiers)]


def _price_sets(model: Any) -> Iterator[tuple[dt.date, Any]]:
    """The model's price sets with the date each takes effect (history included)."""
    prices = model.prices
    if not isinstance(prices, list):
        yield _EPOCH, prices
        return
    for conditional in prices:
        constraint = conditional.constraint
        start = getattr(constraint, "start_date", None)
        if constraint is not None and start is None:
            continue  # time-of-day prices: not modelled (see docs/tables.md)
        yield (start if isinstance(start, dt.date) else _EPOCH), conditional.prices


def price_rows(version: int) -> list[tuple[Any, ...]]:
    """Every (provider, model, clause, effective date) row of the installed genai-prices data."""
    from genai_prices.data_snapshot import get_snapshot

    rows: list[tuple[Any, ...]] = []
    for provider in get_snapshot().providers:
        for priority, model in enumerate(provider.models):
            for start, model_price in _price_sets(model):
                prices = [_tiers(getattr(model_price, key, None)) for key in _PRICE_KEYS]
                for kind, pattern in _clauses(model.match):
                    rows.append(
                        (version, provider.id, model.id, model.name or "", priority, kind, pattern, start, *prices)
                    )
    return rows


def sync_prices(client: Client, database: str = "firsttoken") -> int:
    """(Re)load the prices table from genai-prices; returns the rows loaded.

    The new set is inserted under a new version before the old one is deleted, and the cost view reads only the
    newest version, so calls being inserted meanwhile are priced by one complete set or the other.
    """
    table = SchemaOptions(database=database).shared_table("prices")
    version = time.time_ns()
    rows = price_rows(version)
    client.insert("prices", rows, column_names=PRICE_COLUMNS, database=database)
    client.command(f"DELETE FROM {table} WHERE version < {int(version)}")  # noqa: S608 (validated identifier)
    logger.info("loaded %d price rows into %s", len(rows), table)
    return len(rows)
