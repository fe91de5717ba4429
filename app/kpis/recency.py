"""Recency weights and the evidence they leave: why a model follows the market.

A market changes (a lead source dries up, a milestone converts less, deals move faster); an
estimate that weighs a deal from three years ago like last month's keeps forecasting the old
market. Each observation is weighted by its age with a half-life: a deal that entered its
position `half_life` days before the as-of counts half, twice that a quarter.

Weighting costs evidence. The *effective size* (Kish) of weights w is (Σw)² / Σw²: how many
equally weighted deals carry as much information. It is what shrinkage and the band use; the
plain count of deals is what the answers show as `based_on_deals`.

    recency_weights(np.array([0.0, 365.0]), 365.0)   # [1.0, 0.5]
    effective_size(np.array([1.0, 1.0]))             # 2.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_HALF_LIFE_DAYS", "effective_size", "recency_weights"]

Floats = npt.NDArray[np.float64]

DEFAULT_HALF_LIFE_DAYS: float | None = 365.0
"""A year: a market change shows in the estimates within months, while a process with a
small history still rests on most of it. Ops set it per process (None: every deal alike)."""


def recency_weights(age_days: Floats, half_life_days: float | None) -> Floats:
    """0.5 ** (age / half-life) per observation; all 1 without a half-life. Ages below 0
    (nothing should be younger than the as-of) count as 0."""
    if half_life_days is None:
        return np.ones_like(age_days, dtype=np.float64)
    if half_life_days <= 0:
        raise ValueError(f"half-life must be positive, not {half_life_days}")
    weights: Floats = np.power(0.5, np.maximum(age_days, 0.0) / half_life_days)
    return weights


def effective_size(weights: Floats) -> float:
    """(Σw)² / Σw²: the number of equally weighted observations worth as much (0 if none)."""
    square = float(np.dot(weights, weights))
    return float(weights.sum()) ** 2 / square if square > 0 else 0.0
