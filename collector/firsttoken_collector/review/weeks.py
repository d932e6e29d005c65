"""Review windows: ISO weeks (`2026-W47`) or explicit `--from/--to`, always in UTC, always half-open [start, end).

A week is what a team reviews on Monday: Monday 00:00 UTC to the next Monday. The previous window is the one of
the same length right before it, so every figure can be shown next to last week's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class WindowError(ValueError):
    """A window the user asked for does not exist (the message says what was expected)."""


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    label: str
    previous_label: str = ""

    @property
    def previous(self) -> Window:
        length = self.end - self.start
        return Window(self.start - length, self.start, self.previous_label or f"before {self.label}")

    @property
    def slug(self) -> str:
        """For file names: the ISO week, or the explicit bounds."""
        if self.previous_label and "-W" in self.label:
            return self.label
        return f"{self.start:%Y%m%dT%H%M}Z-{self.end:%Y%m%dT%H%M}Z"

    def params(self) -> dict[str, str]:
        """ClickHouse query parameters (`{start:DateTime64(9)}` / `{end:DateTime64(9)}`)."""
        return {"start": self.start.strftime("%Y-%m-%d %H:%M:%S"), "end": self.end.strftime("%Y-%m-%d %H:%M:%S")}


def iso_week(text: str) -> Window:
    match = _WEEK.match(text.strip())
    if not match:
        raise WindowError(f"--week: expected an ISO week like 2026-W47, got {text!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise WindowError(f"--week: {year} has no week {week:02d}") from None
    start = dt.datetime.combine(monday, dt.time(), tzinfo=dt.timezone.utc)
    previous = start - dt.timedelta(days=7)
    prev_year, prev_week, _ = previous.isocalendar()
    return Window(start, start + dt.timedelta(days=7), f"{year}-W{week:02d}", f"{prev_year}-W{prev_week:02d}")


def explicit(start: str, end: str) -> Window:
    """`--from 2026-11-01 --to 2026-11-08` (dates, or ISO datetimes; UTC)."""
    try:
        begin = _parse(start)
        finish = _parse(end)
    except ValueError as exc:
        raise WindowError(f"--from/--to: {exc}") from None
    if finish <= begin:
        raise WindowError("--from/--to: --to must be after --from")
    return Window(begin, finish, f"{begin:%Y-%m-%d %H:%M} to {finish:%Y-%m-%d %H:%M} UTC")


def _parse(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def week_of(moment: dt.datetime) -> Window:
    """The ISO week a moment falls in (the demo exports the week it just wrote, not yet complete)."""
    year, week, _ = moment.astimezone(dt.timezone.utc).isocalendar()
    return iso_week(f"{year}-W{week:02d}")


def last_complete_week(now: dt.datetime | None = None) -> Window:
    """The week a Monday cron job means: the last one that has ended."""
    now = now or dt.datetime.now(dt.timezone.utc)
    this_monday = (now - dt.timedelta(days=now.weekday())).date()
    year, week, _ = (this_monday - dt.timedelta(days=7)).isocalendar()
    return iso_week(f"{year}-W{week:02d}")
