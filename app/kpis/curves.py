"""Outcome curves read day by day: weighted Aalen-Johansen, shrinkage towards a parent, and a
win probability that is never a certainty.

`DailyCurve` holds, every `STEP_DAYS` (6 hours) up to `HORIZON_DAYS` days after a landmark,
the cumulative incidence of winning F(t) and the outcome-free probability S(t) (won and lost
competing, open deals censored), read as the step functions they are (the value at the grid
point at or before t). Held on one fixed grid, two curves mix by adding arrays, which is what
shrinkage needs:

    shrunk = shrink(own, parent, prior_deals=10)   # own counts n_eff / (n_eff + 10)

A cell with 200 deals barely moves; a cell with 3 deals is mostly its parent (the same
milestone on a coarser landmark, or every process at that milestone), so a sparse tail is
smoothed by similar positions instead of falling to 0 or 1 on the luck of a few deals.

`never_certain` keeps a probability shown for an open deal off 0 and 1 by half a deal of
evidence either way (p within [0.5 / (n + 1), 1 - 0.5 / (n + 1)] for n deals): no deal that
is still open is dead or won, however thin its history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.kpis.incidence import LOST, WON
from app.kpis.recency import effective_size

__all__ = [
    "HORIZON_DAYS",
    "STEP_DAYS",
    "DailyCurve",
    "daily_incidence",
    "never_certain",
    "shrink",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

HORIZON_DAYS = 1100
"""Three years: every curve is read up to here; later outcomes count at the end."""
STEP_DAYS = 0.25
_POINTS = int(HORIZON_DAYS / STEP_DAYS) + 1
_TIMES = np.arange(_POINTS, dtype=np.float64) * STEP_DAYS


@dataclass(frozen=True)
class DailyCurve:
    """F_won(t) and S(t) every `STEP_DAYS` up to `HORIZON_DAYS`, with the evidence behind them."""

    won: Floats
    survival: Floats
    deals: int
    """Deals the cell's own estimate rests on (unweighted)."""
    effective: float
    """Their recency-weighted effective size, plus what shrinkage borrowed from the parent."""

    def _at(self, values: Floats, t: Floats | float) -> Floats:
        index = np.clip(np.floor(np.divide(t, STEP_DAYS) + 1e-9), 0, _POINTS - 1).astype(np.int64)
        found: Floats = values[index]
        return found

    def won_by(self, t: Floats | float) -> Floats:
        """P(won within t days of the landmark)."""
        return self._at(self.won, t)

    def alive(self, offset: Floats | float) -> Floats:
        return self._at(self.survival, offset)

    def win_between(self, offset: Floats | float, start: float, end: float) -> Floats:
        """P(won in (start, end] days from now | no outcome `offset` days after the landmark)."""
        alive = self.alive(offset)
        gained = self._at(self.won, np.add(offset, end)) - self._at(
            self.won, np.add(offset, max(start, 0.0))
        )
        safe = np.where(alive > 1e-12, alive, 1.0)
        return np.where(alive > 1e-12, np.clip(gained / safe, 0.0, 1.0), 0.0)

    def windows(self, offset: Floats, starts: Floats, ends: Floats) -> Floats:
        """[deal, window] P(won in (start, end] | no outcome `offset` days after the landmark),
        for arrays of offsets and of window bounds (days from now) at once."""
        alive = self.alive(offset)[:, None]
        gained = self.won_by(offset[:, None] + ends[None, :]) - self.won_by(
            offset[:, None] + np.maximum(starts, 0.0)[None, :]
        )
        safe = np.where(alive > 1e-12, alive, 1.0)
        found: Floats = np.where(
            (alive > 1e-12) & (ends > starts)[None, :], np.clip(gained / safe, 0.0, 1.0), 0.0
        )
        return found

    def eventual(self, offset: Floats | float) -> Floats:
        """P(won eventually | no outcome `offset` days after the landmark)."""
        return self.win_between(offset, 0.0, float(HORIZON_DAYS))


def daily_incidence(
    durations: Floats, causes: Ints, weights: Floats, *, presorted: bool = False
) -> DailyCurve | None:
    """Weighted Aalen-Johansen of (duration in days, cause, weight), read on the daily grid.

    Each observation counts `weight` in the risk set and in its outcome: with equal weights
    this is `incidence.aalen_johansen` exactly. None when there is no observation."""
    if durations.shape[0] == 0 or float(weights.sum()) <= 0.0:
        return None
    if not presorted:
        order = np.argsort(durations, kind="stable")
        durations, causes, weights = durations[order], causes[order], weights[order]
    change = np.ones(durations.shape[0], dtype=bool)
    change[1:] = durations[1:] != durations[:-1]
    starts = np.nonzero(change)[0]
    times = durations[starts]
    total = np.add.reduceat(weights, starts)
    won = np.add.reduceat(np.where(causes == WON, weights, 0.0), starts)
    lost = np.add.reduceat(np.where(causes == LOST, weights, 0.0), starts)
    at_risk = float(weights.sum()) - np.concatenate(([0.0], np.cumsum(total)[:-1]))
    at_risk = np.maximum(at_risk, 1e-300)
    survival = np.cumprod(np.clip(1.0 - (won + lost) / at_risk, 0.0, 1.0))
    before = np.concatenate(([1.0], survival[:-1]))
    incidence = np.cumsum(before * won / at_risk)
    index = np.searchsorted(times, _TIMES + 1e-9, side="right") - 1
    inside = index >= 0
    safe = np.maximum(index, 0)
    return DailyCurve(
        won=np.where(inside, incidence[safe], 0.0),
        survival=np.where(inside, survival[safe], 1.0),
        deals=int(durations.shape[0]),
        effective=effective_size(weights),
    )


def shrink(
    own: DailyCurve | None, parent: DailyCurve | None, prior_deals: float
) -> DailyCurve | None:
    """`own` pulled towards `parent` as if the parent added `prior_deals` deals of its own:
    weight n / (n + prior) on `own`, n its effective size. Either alone when the other is
    missing."""
    if own is None or parent is None:
        return own or parent
    share = own.effective / (own.effective + prior_deals)
    return DailyCurve(
        won=share * own.won + (1.0 - share) * parent.won,
        survival=share * own.survival + (1.0 - share) * parent.survival,
        deals=own.deals,
        effective=own.effective + min(prior_deals, parent.effective),
    )


def never_certain(probability: float, deals: int) -> float:
    """`probability` kept within half a deal of evidence from 0 and from 1."""
    margin = 0.5 / (deals + 1)
    return min(max(probability, margin), 1.0 - margin)
