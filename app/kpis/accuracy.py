"""Forecast error: WAPE, the weighted absolute percentage error.

    WAPE = Σ |actual - forecast| / Σ |actual|

over a set of (actual, forecast) pairs, e.g. one per month. Large months weigh more than small
ones, and a month with nothing won does not divide by zero. None when nothing was won at all.

    wape([100.0, 50.0], [90.0, 70.0])   # (10 + 20) / 150 = 0.2
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["wape"]


def wape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    if len(actual) != len(forecast):
        raise ValueError("actual and forecast differ in length")
    total = sum(abs(a) for a in actual)
    if total == 0:
        return None
    return sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / total
