"""Charts drawn on the server as SVG: no script, no CDN, readable without colour.

Each chart is an `<svg role="img">` with a title that says what it shows; the page puts the
same numbers in a table beside it. Colours come from the stylesheet (`class` names), so the
page's Content-Security-Policy needs no inline style.

    bars(["W1", "W2"], [120.0, 80.0], title="Progress value per week")
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Series", "bars", "forecast_band", "lines"]

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 36
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str


def _scale(high: float) -> float:
    """A round upper bound for the axis."""
    if high <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(high))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if high <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _short(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:.3g}k"
    if value and abs(value) < 1:
        return f"{value:.1f}"
    return f"{value:.0f}"


def _frame(title: str, top: float, labels: Sequence[str], body: list[str], legend: str) -> Markup:
    ident = f"chart-{next(_ids)}"
    plot_h = HEIGHT - TOP - BOTTOM
    grid = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        grid.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_short(value)}</text>"
        )
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    every = max(1, -(-len(labels) // 6))
    ticks = [
        f'<text class="axis" x="{LEFT + step * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    return Markup(
        f'<figure class="chart"><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{ident}">{escape(title)}</title>'
        + "".join(grid)
        + "".join(body)
        + "".join(ticks)
        + f"</svg><figcaption>{legend}</figcaption></figure>"
    )


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return " ".join(
        f'<span class="key"><span class="swatch {css}"></span>{escape(name)}</span>'
        for name, css in items
    )


def bars(labels: Sequence[str], values: Sequence[float], *, title: str, css: str = "s1") -> Markup:
    top = _scale(max([0.0, *values]))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    body = []
    for i, value in enumerate(values):
        h = plot_h * max(0.0, value) / top
        body.append(
            f'<rect class="{css}" x="{LEFT + step * i + step * 0.15:.1f}" '
            f'y="{TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}"/>'
        )
    return _frame(title, top, labels, body, _legend([(title, css)]))


def lines(
    labels: Sequence[str], series: Sequence[Series], *, title: str, top: float | None = None
) -> Markup:
    found = [v for s in series for v in s.values if v is not None]
    top = top if top is not None else _scale(max([0.0, *found]))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    body = []
    for s in series:
        points = [
            (LEFT + step * (i + 0.5), TOP + plot_h - plot_h * max(0.0, v) / top)
            for i, v in enumerate(s.values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline class="line {s.css}" points="{path}"/>')
        body += [
            f'<circle class="dot {s.css}" cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in points
        ]
    return _frame(title, top, labels, body, _legend([(s.name, s.css) for s in series]))


def forecast_band(
    labels: Sequence[str],
    parts: Sequence[Series],
    low: Sequence[float],
    high: Sequence[float],
    *,
    title: str,
) -> Markup:
    """Stacked bars (the parts of the expected amount) with the P10-P90 band as a whisker."""
    totals = [sum(p.values[i] or 0.0 for p in parts) for i in range(len(labels))]
    top = _scale(max([0.0, *high, *totals]))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    body = []
    for i in range(len(labels)):
        x = LEFT + step * i + step * 0.2
        base = 0.0
        for part in parts:
            value = max(0.0, part.values[i] or 0.0)
            y0 = TOP + plot_h - plot_h * (base + value) / top
            h = plot_h * value / top
            body.append(
                f'<rect class="{part.css}" x="{x:.1f}" y="{y0:.1f}" width="{step * 0.6:.1f}" '
                f'height="{h:.1f}"/>'
            )
            base += value
        cx = LEFT + step * (i + 0.5)
        y_low = TOP + plot_h - plot_h * max(0.0, low[i]) / top
        y_high = TOP + plot_h - plot_h * max(0.0, high[i]) / top
        body.append(
            f'<line class="band" x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_low:.1f}" y2="{y_high:.1f}"/>'
            f'<line class="band" x1="{cx - 8:.1f}" x2="{cx + 8:.1f}" y1="{y_low:.1f}" '
            f'y2="{y_low:.1f}"/><line class="band" x1="{cx - 8:.1f}" x2="{cx + 8:.1f}" '
            f'y1="{y_high:.1f}" y2="{y_high:.1f}"/>'
        )
    legend = _legend([*((p.name, p.css) for p in parts), ("P10\u2013P90 band", "band")])
    return _frame(title, top, labels, body, legend)
