"""Per-call cost arithmetic over prices resolved once per model: the hot path.

A model's prices are turned, once, into `Rates`: integer prices on a common decimal scale (so 0.0125 $/MTok with
scale 4 is 125, and every amount is `tokens x integer / 10**(scale + 6)`). Per call the work is a handful of integer
multiplications and one true division per part. Python divides two integers with correct rounding, so each figure is
the exact cost rounded once to the nearest float -- the same float as `float(genai_prices.calc_price(...))`, whose
Decimal sums are exact too. Floats on the hot path would drift from it by a few ulps.

Token accounting follows genai-prices' decomposition (genai_prices.decompose): every token is priced once, at its
most specific priced type. Uncached input = total input - cache reads (if the model prices reads) - cache writes (if
it prices writes); writes not marked 1h (or 5m, where a model prices 5m separately) are priced at the model's
default write price. A model that does not price a type bills those tokens as its parent (e.g. OpenAI cache writes
as input).

Long-context tiers are genai-prices' "cliff": once the call's TOTAL input tokens exceed a tier's start, every token
of a tiered type is priced at that tier (not just the tokens above it). The tier depends on the call, so `Rates`
keeps one price vector per band between tier starts and picks it per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from typing import NamedTuple

from firsttoken.pricing.tokens import Tokens

PER_TOKENS = 1_000_000
"""Prices are USD per million tokens."""

INPUT = "input_mtok"
OUTPUT = "output_mtok"
CACHE_READ = "cache_read_mtok"
CACHE_WRITE = "cache_write_mtok"
CACHE_WRITE_5M = "cache_write_5m_mtok"
CACHE_WRITE_1H = "cache_write_1h_mtok"
PRICE_KEYS = (INPUT, OUTPUT, CACHE_READ, CACHE_WRITE, CACHE_WRITE_5M, CACHE_WRITE_1H)
"""The genai-prices price keys firsttoken's `Tokens` can be billed against (USD per million tokens)."""


class Cost(NamedTuple):
    """The cost of one call in USD. Immutable. The four parts add up to `total_usd` (within float rounding)."""

    total_usd: float
    input_usd: float
    """Uncached input (total input minus the cache reads and writes the model prices separately)."""
    output_usd: float
    """Output, reasoning included."""
    cache_read_usd: float
    cache_write_usd: float
    """All cache writes, 5-minute and 1-hour."""


@dataclass(frozen=True)
class UnitPrice:
    """One token type's price in USD per million tokens, with optional long-context tiers.

    `tiers` are `(start, price)`: the price applies when the call's total input tokens are greater than `start`.
    """

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()


PriceSheet = Mapping[str, UnitPrice]
"""A model's prices by genai-prices price key (`PRICE_KEYS`); a missing key means the model does not price it."""

# A price vector: integer prices for input, output, cache read, cache write (default TTL), cache write 5m, cache write
# 1h, then 1/0 flags saying whether cache read / write / write 5m / write 1h are priced (and so carved out of their
# parent's tokens).
_Vector = tuple[int, int, int, int, int, int, int, int, int, int]


class Rates:
    """A model's prices for one pricing context, ready for per-call arithmetic. Built by `build_rates`."""

    __slots__ = ("base", "denominator", "tiers")

    def __init__(self, base: _Vector, tiers: tuple[tuple[int, _Vector], ...], denominator: int) -> None:
        self.base = base
        self.tiers = tiers
        """(start, vector), highest start first."""
        self.denominator = denominator


def build_rates(sheet: PriceSheet, multiplier: Decimal = Decimal(1)) -> Rates | None:
    """Turn a model's prices (times `multiplier`) into `Rates`. None if the sheet prices neither input nor output.

    Raises ValueError for a sheet genai-prices would reject (a TTL-specific write price without a write price).
    """
    if INPUT not in sheet and OUTPUT not in sheet:
        return None
    if (CACHE_WRITE_5M in sheet or CACHE_WRITE_1H in sheet) and CACHE_WRITE not in sheet:
        raise ValueError("a TTL-specific cache write price needs a cache_write_mtok price")
    with localcontext() as ctx:
        ctx.prec = 100
        ctx.traps[Inexact] = True  # every product below is exact; fail rather than round silently
        scaled = {key: _scale(price, multiplier) for key, price in sheet.items()}
        exponent = max(
            [0] + [-_exponent(amount) for base, tiers in scaled.values() for amount in (base, *(p for _, p in tiers))]
        )
        starts = sorted({start for _, tiers in scaled.values() for start, _ in tiers})

        def vector(band_start: int | None) -> _Vector:
            p_in, p_out, p_read, p_write, p_5m, p_1h = (
                _as_int(_price_in_band(scaled.get(key), band_start), exponent) for key in PRICE_KEYS
            )
            f_read, f_write, f_5m, f_1h = (
                int(key in sheet) for key in (CACHE_READ, CACHE_WRITE, CACHE_WRITE_5M, CACHE_WRITE_1H)
            )
            return (p_in, p_out, p_read, p_write, p_5m, p_1h, f_read, f_write, f_5m, f_1h)

        tiers = tuple((start, vector(start)) for start in reversed(starts))
        return Rates(vector(None), tiers, 10**exponent * PER_TOKENS)


def compute(rates: Rates, tokens: Tokens) -> Cost | None:
    """The cost of `tokens` at `rates`. None when input or output is unknown, or the counts are inconsistent.

    Inconsistent: a negative count, cache reads + writes above the total input, or TTL-split writes above all
    writes -- usually Anthropic's `input_tokens` (which excludes cache tokens) passed as the total.
    """
    return compute_counts(rates, *tokens[:6])


def compute_counts(
    rates: Rates,
    inp: int | None,
    out: int | None,
    read: int | None,
    write: int | None,
    write_5m: int | None,
    write_1h: int | None,
) -> Cost | None:
    """`compute` over the counts of a `Tokens` (same order, same meaning), for callers that hold them loose: the
    per-call path then builds no `Tokens` at all."""
    if inp is None or out is None:
        return None
    if read is None:
        read = 0
    if write_5m is None:
        write_5m = 0
    if write_1h is None:
        write_1h = 0
    if write is None:
        write = write_5m + write_1h
    if out < 0 or read < 0 or write_5m < 0 or write_1h < 0 or write_5m + write_1h > write or read + write > inp:
        return None
    vec = rates.base
    for start, band in rates.tiers:
        if inp > start:
            vec = band
            break
    p_in, p_out, p_read, p_write, p_5m, p_1h, f_read, f_write, f_5m, f_1h = vec
    n_in = (inp - f_read * read - f_write * write) * p_in
    n_out = out * p_out
    n_read = read * p_read
    n_write = (write - f_5m * write_5m - f_1h * write_1h) * p_write + write_5m * p_5m + write_1h * p_1h
    d = rates.denominator
    return _new_cost(Cost, ((n_in + n_out + n_read + n_write) / d, n_in / d, n_out / d, n_read / d, n_write / d))


_new_cost = tuple.__new__  # skips NamedTuple.__new__'s argument handling: ~300 ns less per call


def _scale(price: UnitPrice, multiplier: Decimal) -> tuple[Decimal, tuple[tuple[int, Decimal], ...]]:
    return price.base * multiplier, tuple(sorted((start, p * multiplier) for start, p in price.tiers))


def _price_in_band(price: tuple[Decimal, tuple[tuple[int, Decimal], ...]] | None, band_start: int | None) -> Decimal:
    """The price that applies when total input is just above `band_start` (None: the base band)."""
    if price is None:
        return Decimal(0)
    base, tiers = price
    applicable = base
    if band_start is not None:
        for start, tier_price in tiers:
            if start <= band_start:
                applicable = tier_price
    return applicable


def _exponent(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int), "prices are finite"
    return exponent


def _as_int(amount: Decimal, exponent: int) -> int:
    scaled = amount.scaleb(exponent)
    integral = int(scaled)
    if integral != scaled:  # pragma: no cover - exponent is chosen so that this cannot happen
        raise ValueError(f"price {amount} is not a multiple of 1e-{exponent}")
    return integral
