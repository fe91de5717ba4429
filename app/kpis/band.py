"""The P10-P90 band of a forecast from its mean and variance, skewed as sums of wins are.

Why not mean ± 1.28 sigma: a month's wins are a sum of a few large amounts; the normal band
is symmetric, runs below 0 (floored, it then holds the actual too often at the bottom and
too rarely at the top). The band is the gamma distribution with the same mean and variance,
its quantiles by the Wilson-Hilferty cube-root approximation (accurate to about 1 % for
shape >= 1, and still right in direction below it): no statistics library needed.

The variance adds up what is uncertain (`Spread`): each deal's own outcome (won or not,
Bernoulli), how sure the estimated win rates are (deals at one milestone share that error),
and the arrivals of pipeline not yet created.

    gamma_quantile(100.0, 400.0, 0.9)   # P90 of a sum with mean 100 and sd 20
"""

from __future__ import annotations

import math

__all__ = ["Z90", "band", "gamma_quantile"]

Z90 = 1.2815515655446004
"""The standard normal's 90th percentile."""


def gamma_quantile(mean: float, variance: float, q: float) -> float:
    """The q quantile (0.1 or 0.9) of the gamma distribution with this mean and variance."""
    if mean <= 0.0:
        return 0.0
    if variance <= 0.0:
        return mean
    z = Z90 if q >= 0.5 else -Z90
    if abs(q - 0.5) < 1e-12:
        z = 0.0
    elif abs(abs(q - 0.5) - 0.4) > 1e-9:
        raise ValueError(f"only the 10th, 50th and 90th percentiles are supported, not {q}")
    shape = mean * mean / variance
    scale = variance / mean
    c = 1.0 / (9.0 * shape)
    root = 1.0 - c + z * math.sqrt(c)
    return shape * scale * max(root, 0.0) ** 3


def band(mean: float, variance: float) -> tuple[float, float]:
    """(P10, P90) of a non-negative sum with this mean and variance."""
    return gamma_quantile(mean, variance, 0.1), gamma_quantile(mean, variance, 0.9)
