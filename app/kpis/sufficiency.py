"""How much history the milestone forecast needs, read from the history itself.

The forecast estimates a win rate per (process, milestone) cell; the milestone-free model one
per process. Splitting the history into cells buys information and costs noise. For a deal's
outcome predicted by its cell's estimated rate, with n closed deals, cell shares w_c and rates
p_c (process rates p_g), the expected squared error is

    milestones:      Σ_c w_c p_c (1 - p_c)  +  Σ_c p_c (1 - p_c) / n
    milestone-free:  Σ_g w_g p_g (1 - p_g)  +  Σ_g p_g (1 - p_g) / n

(the second term is each estimate's variance, n_c = w_c n deals behind it). The first terms
differ by B = Σ_c w_c (p_c - p_g(c))², what the milestones tell apart; the second by V / n with
V = Σ_c p_c (1 - p_c) - Σ_g p_g (1 - p_g), what estimating more rates costs. The milestones
pay for themselves once B > V / n. Estimated from the same deals, the observed spread B̂ is
itself inflated by noise, by V / n on average, so the condition on what is observed is

    B̂ > 2 V / n,   i.e.   n > n* = 2 V / B̂

n* is the number of closed deals this history needs, were its cells to keep their shares and
rates; a history with fewer is too little, and says about how many more it needs. With no won
or no lost deal nothing can be told apart, and with B̂ = 0 the milestones separate nothing yet.

    found = sufficiency(process, position, won)     # one entry per closed deal
    found.shortfall()   # None, or "... needs about 40 more closed opportunities"
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Sufficiency", "sufficiency"]

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Sufficiency:
    """What the closed history holds and how many closed deals the milestone forecast needs
    (`needed`; None when the history cannot say yet)."""

    closed: int
    won: int
    needed: int | None
    spread: float
    """B̂: the observed variance of win rates between milestones, within processes."""
    cost: float
    """V: the variance one more estimated rate per milestone adds, times n."""

    @property
    def enough(self) -> bool:
        return self.needed is not None and self.closed >= self.needed

    @property
    def more(self) -> int | None:
        """Closed deals still missing (0 when enough; None when the history cannot say)."""
        return None if self.needed is None else max(0, self.needed - self.closed)

    def shortfall(self) -> str | None:
        """Why the history is too little and how much more it needs; None when enough."""
        if self.enough:
            return None
        have = f"{self.closed} closed opportunities ({self.won} won)"
        if self.won == 0 or self.won == self.closed:
            return (
                f"{have}: with no {'won' if self.won == 0 else 'lost'} one yet, history cannot "
                "tell a winner from a loser"
            )
        if self.needed is None:
            return (
                f"{have}: the milestones' win rates do not differ yet, so the milestones "
                "cannot tell winners from losers beyond their noise"
            )
        return (
            f"{have}; at the win rates they show per milestone, the milestones tell winners "
            f"from losers beyond their own noise from about {self.needed} closed: the "
            f"forecast needs about {self.more} more closed opportunities"
        )


def sufficiency(process: Ints, position: Ints, won: Bools) -> Sufficiency:
    """`Sufficiency` of the closed deals given one entry each: process, the milestone
    (position) it stood at when it closed, won or not."""
    n = int(won.shape[0])
    wins = int(won.sum())
    if n == 0 or wins in (0, n):
        return Sufficiency(n, wins, None, 0.0, 0.0)
    outcome = won.astype(np.float64)
    spread = cost = 0.0
    for owner in np.unique(process).tolist():
        mine = process == owner
        p_group = float(outcome[mine].mean())
        cost -= p_group * (1.0 - p_group)
        for cell in np.unique(position[mine]).tolist():
            members = mine & (position == cell)
            share = float(members.sum()) / n
            p_cell = float(outcome[members].mean())
            spread += share * (p_cell - p_group) ** 2
            cost += p_cell * (1.0 - p_cell)
    if cost <= 1e-12:
        return Sufficiency(n, wins, 0, spread, 0.0)  # no second rate to pay for
    if spread <= 1e-12:
        return Sufficiency(n, wins, None, spread, cost)
    return Sufficiency(n, wins, math.ceil(2.0 * cost / spread - 1e-9), spread, cost)
