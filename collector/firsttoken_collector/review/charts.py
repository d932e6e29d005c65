"""Grouped bar charts as inline SVG: this week next to last week, per row. No JavaScript and no network, so the
HTML report renders the same in a mail client, a browser offline, or a headless screenshot."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_WIDTH = 640
_BAR_H = 14
_GAP = 10
_LABEL_W = 220


def _fmt(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}%" if percent else (f"{value:,.4f}" if abs(value) < 10 else f"{value:,.0f}")


def bar_chart(
    title: str,
    labels: Sequence[str],
    current: Sequence[float | None],
    previous: Sequence[float | None],
    *,
    percent: bool = False,
) -> str:
    """An SVG string; unknown values (None) are drawn as a hatched 'no data' mark, never as a zero-length bar.
    Rows unknown in both windows (a TTFT for a service that never streams) are left out."""
    rows = [
        (lab, cur, prev)
        for lab, cur, prev in zip(labels, current, previous, strict=True)
        if (cur, prev) != (None, None)
    ]
    labels = [r[0] for r in rows]
    current = [r[1] for r in rows]
    previous = [r[2] for r in rows]
    known = [v for v in (*current, *previous) if v is not None]
    top = max(known, default=0.0) or 1.0
    row_h = 2 * _BAR_H + _GAP
    height = 40 + max(1, len(labels)) * row_h
    plot_w = _WIDTH - _LABEL_W - 90
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="12">',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
        f'<rect x="{_LABEL_W}" y="22" width="10" height="10" fill="#2f6fde"/><text x="{_LABEL_W + 14}" y="31">this '
        f'window</text><rect x="{_LABEL_W + 100}" y="22" width="10" height="10" fill="#b8c4d6"/>'
        f'<text x="{_LABEL_W + 114}" y="31">previous</text>',
    ]
    if not labels:
        parts.append('<text x="0" y="60" fill="#666">no data in either window</text>')
    for i, label in enumerate(labels):
        y = 40 + i * row_h
        parts.append(f'<text x="0" y="{y + _BAR_H + 4}">{escape(label[:34])}</text>')
        for j, (value, colour) in enumerate(((current[i], "#2f6fde"), (previous[i], "#b8c4d6"))):
            by = y + j * _BAR_H
            if value is None:
                parts.append(
                    f'<rect x="{_LABEL_W}" y="{by}" width="40" height="{_BAR_H - 2}" fill="none" stroke="#999" '
                    f'stroke-dasharray="3,2"/>'
                    f'<text x="{_LABEL_W + 46}" y="{by + _BAR_H - 3}" fill="#666">no data</text>'
                )
                continue
            width = max(1.0, plot_w * max(value, 0.0) / top)
            parts.append(
                f'<rect x="{_LABEL_W}" y="{by}" width="{width:.1f}" height="{_BAR_H - 2}" fill="{colour}"/>'
                f'<text x="{_LABEL_W + width + 4:.1f}" y="{by + _BAR_H - 3}">{escape(_fmt(value, percent))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
