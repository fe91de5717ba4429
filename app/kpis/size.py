"""Deal size as a covariate of winning: large deals are won less often than small ones.

Why: the forecast is of amounts. If the largest quarter of deals wins a fifth less often than
the rest, Σ amount * P(won) with one P per milestone forecasts too much, month after month
(on the generated histories the amount-weighted win rate is a fifth below the count-weighted
one; large deals winning less often is common in B2B sales).

How: indirect standardisation. Per process, deals fall in `CLASSES` size classes (quantiles
of their amounts); for each class, the wins observed among its closed stays at every
position, over the wins expected had each stay won like all closed stays at its position
(observed / expected). Shrunk towards 1 by `PRIOR_WINS` expected wins, so a class with
little evidence keeps the milestone's own rate; recency weights count as elsewhere.

    effect = size_effect(amounts, positions, won, closed, weights)
    effect.factor(np.array([5_000.0, 400_000.0]))   # e.g. [1.05, 0.81]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["CLASSES", "PRIOR_WINS", "SizeEffect", "size_effect"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

CLASSES = 4
PRIOR_WINS = 10.0


@dataclass(frozen=True)
class SizeEffect:
    edges: Floats
    """The inner class boundaries (amounts), ascending."""
    factors: Floats
    """Per class: observed over expected wins, shrunk towards 1."""

    def factor(self, amounts: Floats) -> Floats:
        found: Floats = self.factors[np.searchsorted(self.edges, amounts, side="right")]
        return found

    @classmethod
    def none(cls) -> SizeEffect:
        return cls(np.zeros(0), np.ones(1))


def size_effect(
    amounts: Floats,
    positions: Ints,
    won: Bools,
    closed: Bools,
    weights: Floats,
    classes: int = CLASSES,
    prior_wins: float = PRIOR_WINS,
) -> SizeEffect:
    """From one row per stay: the deal's amount, the stay's position, whether the deal was
    won, whether it was closed, and its weight."""
    if not closed.any():
        return SizeEffect.none()
    edges = np.unique(np.quantile(amounts, np.linspace(0, 1, classes + 1)[1:-1]))
    size = np.searchsorted(edges, amounts, side="right")
    w = np.where(closed, weights, 0.0)
    wins = np.where(won, w, 0.0)
    share = np.zeros(int(positions.max()) + 1)
    per_position = np.bincount(positions, weights=w, minlength=share.shape[0])
    won_position = np.bincount(positions, weights=wins, minlength=share.shape[0])
    np.divide(won_position, per_position, out=share, where=per_position > 0)
    expected = np.bincount(size, weights=w * share[positions], minlength=edges.shape[0] + 1)
    observed = np.bincount(size, weights=wins, minlength=edges.shape[0] + 1)
    return SizeEffect(edges, (observed + prior_wins) / (expected + prior_wins))
