"""Forecast error over a set of (actual, forecast) pairs, e.g. one per origin.

    WAPE     = Σ |actual - forecast| / Σ |actual|           lower is better; 0 is perfect
    bias     = Σ (forecast - actual) / Σ |actual|           above 0: forecasts too high
    coverage = share of pairs with P10 <= actual <= P90     0.80 is what a P10-P90 band claims
    pinball  = Σ over pairs and q in (0.1, 0.5, 0.9) of L_q(actual, quantile q) / (3 Σ |actual|)

with L_q(y, f) = q (y - f) when y >= f, else (1 - q) (f - y): the quantile (pinball) loss,
scaled like the WAPE. A point forecast used for every quantile scores exactly WAPE / 2, so a
band beats a point forecast when its pinball loss is below half the point's WAPE. Large months
weigh more than small ones, and a month with nothing won does not divide by zero: each is None
when nothing was won at all.

    wape([100.0, 50.0], [90.0, 70.0])   # (10 + 20) / 150 = 0.2
    bias([100.0, 50.0], [90.0, 70.0])   # (-10 + 20) / 150 = 0.0667
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["QUANTILES", "bias", "coverage", "pinball", "wape"]

QUANTILES = (0.1, 0.5, 0.9)


def _check(actual: Sequence[float], *others: Sequence[float]) -> float | None:
    for other in others:
        if len(actual) != len(other):
            raise ValueError("actual and forecast differ in length")
    total = sum(abs(a) for a in actual)
    return total if total > 0 else None


def wape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    total = _check(actual, forecast)
    if total is None:
        return None
    return sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / total


def bias(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    total = _check(actual, forecast)
    if total is None:
        return None
    return sum(f - a for a, f in zip(actual, forecast, strict=True)) / total


def coverage(actual: Sequence[float], low: Sequence[float], high: Sequence[float]) -> float | None:
    """Share of the pairs whose actual lies inside [low, high]; None for no pairs."""
    _check(actual, low, high)
    if not actual:
        return None
    inside = sum(1 for a, lo, hi in zip(actual, low, high, strict=True) if lo <= a <= hi)
    return inside / len(actual)


def _loss(q: float, actual: float, predicted: float) -> float:
    return q * (actual - predicted) if actual >= predicted else (1.0 - q) * (predicted - actual)


def pinball(
    actual: Sequence[float],
    p10: Sequence[float],
    p50: Sequence[float],
    p90: Sequence[float],
) -> float | None:
    total = _check(actual, p10, p50, p90)
    if total is None:
        return None
    loss = 0.0
    for a, *predicted in zip(actual, p10, p50, p90, strict=True):
        loss += sum(_loss(q, a, f) for q, f in zip(QUANTILES, predicted, strict=True))
    return loss / (len(QUANTILES) * total)
