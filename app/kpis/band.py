"""The P10-P90 band of a forecast from its mean and variance, skewed as sums of wins are.

Why not mean ± 1.28 sigma: a month's wins are a sum of a few large amounts; the normal band
is symmetric, runs below 0 (floored, it then holds the actual too often at the bottom and
too rarely at the top). The band is the gamma distribution with the same mean and variance,
its quantiles by the Wilson-Hilferty cube-root approximation (accurate to about 1 % for
shape >= 1, and still right in direction below it): no statistics library needed.

The variance adds up what is uncertain (`Spread`): each deal's own outcome (won or not,
Bernoulli), how sure the estimated win rates are (deals at one milestone share that error),
and the arrivals of pipeline not yet created. What the model still gets wrong about its own
spread, the history's own backtest errors correct (`calibration`): `scale` widens (above 1)
or narrows (below 1) the band on the normal scale of the Wilson-Hilferty transform, where
`standardized_error` measures how far an outcome fell from the forecast.

    gamma_quantile(100.0, 400.0, 0.9)   # P90 of a sum with mean 100 and sd 20
    band(100.0, 400.0, scale=1.5)       # half as wide again, as the past errors asked
"""

from __future__ import annotations

import math

__all__ = ["Z90", "band", "gamma_quantile", "standardized_error"]

Z90 = 1.2815515655446004
"""The standard normal's 90th percentile."""


def gamma_quantile(mean: float, variance: float, q: float, scale: float = 1.0) -> float:
    """The q quantile (0.1 or 0.9) of the gamma distribution with this mean and variance;
    with `scale`, the point `scale` times as far from the median on the normal scale."""
    if mean <= 0.0:
        return 0.0
    if variance <= 0.0:
        return mean
    z = Z90 if q >= 0.5 else -Z90
    if abs(q - 0.5) < 1e-12:
        z = 0.0
    elif abs(abs(q - 0.5) - 0.4) > 1e-9:
        raise ValueError(f"only the 10th, 50th and 90th percentiles are supported, not {q}")
    if scale <= 0.0:
        raise ValueError(f"a band's scale is positive, not {scale}")
    c = _c(mean, variance)
    root = 1.0 - c + scale * z * math.sqrt(c)
    return mean * max(root, 0.0) ** 3


def band(mean: float, variance: float, scale: float = 1.0) -> tuple[float, float]:
    """(P10, P90) of a non-negative sum with this mean and variance, `scale` times as wide
    on the normal scale (1: as the variance says)."""
    return gamma_quantile(mean, variance, 0.1, scale), gamma_quantile(mean, variance, 0.9, scale)


def standardized_error(mean: float, variance: float, actual: float) -> float | None:
    """Where `actual` fell in the gamma forecast with this mean and variance, on the normal
    scale of the band: the band holds it exactly when -Z90 * scale <= error <= Z90 * scale.
    None when the forecast is a point (no mean or no variance): no band to measure against.

    Nothing won (`actual` exactly 0) is held by every band whose P10 is 0: when the forecast is so
    skewed that its median's root 1 - c is not above 0 (a small mean with a wide spread: a
    month that one large deal may or may not fill), every band is, and the error is 0 — not
    the (c - 1) / sqrt(c) the formula gives there, which would read a band that held the
    outcome as thousands of times too narrow."""
    if mean <= 0.0 or variance <= 0.0:
        return None
    c = _c(mean, variance)
    if actual == 0.0:
        return -max(1.0 - c, 0.0) / math.sqrt(c)
    return (math.copysign(abs(actual / mean) ** (1.0 / 3.0), actual) - (1.0 - c)) / math.sqrt(c)


def _c(mean: float, variance: float) -> float:
    """1 / (9 shape) of the gamma with this mean and variance (shape = mean² / variance)."""
    return variance / (9.0 * mean * mean)
