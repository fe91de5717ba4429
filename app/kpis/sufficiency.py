"""How much history the milestone forecast needs, read from the history itself.

The forecast predicts a deal by the win rate of the milestone it stands at (a cell: process
and milestone; creation is milestone 0), the milestone-free model by its process's rate. Over
its life a closed deal stood at every milestone it reached, so each (deal, milestone reached)
is one prediction; w_c is cell c's share of them, p_c its win rate, n_c its deals, and p_g,
n_g those of the cell's process at creation (every deal). Over these predictions

    milestone-free error - milestone error  =  B  =  Σ_c w_c (p_c - p_g)²

exactly: what the milestones tell apart. Each rate is estimated, which costs its variance:

    N = Σ_c w_c p_c (1 - p_c) / n_c  -  Σ_g W_g p_g (1 - p_g) / n_g

(W_g the share of the process's predictions): what estimating one rate per milestone costs
beyond one per process. The milestones pay for themselves once B > N. The observed spread B̂
is itself inflated by about N (noise makes rates differ), so on what is observed the test is
B̂ > 2 N. N shrinks as 1 / n with n closed deals at the same shares, so the history needs

    n* = n * 2 N / B̂

closed deals; fewer is too little, and the answer says about how many more it needs. The
variances use each rate moved by half a deal (`(won + 1/2) / (n + 1)`, as `never_certain`): a
cell of 3 deals all lost is not known to be 0. With no won or no lost deal nothing can be
told apart; with B̂ = 0 the milestones separate nothing yet.

The closed deals also have to stand for the deals: while fewer than half the deals created
are known to have closed (the Kaplan-Meier median of days from creation to close, open deals
censored, not reached yet: `closing_median`), the closed ones are the fast ones, and their
rates say little of the rest.

    closing = closing_median(days_open, closed)    # every deal
    found = sufficiency(process, reached, won, closing)     # one row per closed deal
    found.shortfall()   # None, or "... needs about 40 more closed opportunities"
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.kpis.columns import Bools, Floats, Ints, aj_arrays
from app.kpis.incidence import CENSORED, WON

__all__ = ["Sufficiency", "closing_median", "sufficiency"]


@dataclass(frozen=True, slots=True)
class Sufficiency:
    """What the closed history holds and how many closed deals the milestone forecast needs
    (`needed`; None when the history cannot say yet)."""

    closed: int
    won: int
    needed: int | None
    spread: float
    """B̂: what the milestones tell apart (the spread of their win rates, within processes)."""
    cost: float
    """N: what estimating one rate per milestone costs beyond one per process."""
    closing_days: float | None = None
    """Median days from creation to close (None: fewer than half the deals closed yet)."""

    @property
    def enough(self) -> bool:
        covered = self.closing_days is not None
        return covered and self.needed is not None and self.closed >= self.needed

    @property
    def more(self) -> int | None:
        """Closed deals still missing (0 when enough; None when the history cannot say)."""
        return None if self.needed is None else max(0, self.needed - self.closed)

    def shortfall(self) -> str | None:
        """Why the history is too little and how much more it needs; None when enough."""
        if self.enough:
            return None
        have = f"{self.closed} closed opportunities ({self.won} won)"
        if self.closing_days is None and self.closed > 0:
            return (
                f"{have}: fewer than half the opportunities created have closed yet, so the "
                "closed ones are the fast ones: the forecast needs history that covers how "
                "long half of them take to close"
            )
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


def closing_median(days: Floats, closed: Bools) -> float | None:
    """Median days from creation to close over every deal (`days` to its close, or to now
    while open, censored): Kaplan-Meier; None while fewer than half are known to close."""
    if days.shape[0] == 0:
        return None
    causes = np.where(closed, WON, CENSORED).astype(np.int64)
    return aj_arrays(np.maximum(days, 0.0), causes, (WON,)).quantile(WON, 0.5)


def sufficiency(
    process: Ints, reached: Bools, won: Bools, closing_days: float | None = 0.0
) -> Sufficiency:
    """`Sufficiency` of the closed deals, one row each: its process, the milestones it had
    reached when it closed (`reached[deal, position]`, position 0 its creation) and whether
    it was won; `closing_days` from `closing_median` over every deal (0: taken as
    covered)."""
    n = int(won.shape[0])
    wins = int(won.sum())
    if n == 0 or wins in (0, n):
        return Sufficiency(n, wins, None, 0.0, 0.0, closing_days)
    reached = reached.copy()
    reached[:, 0] = True
    outcome = won.astype(np.float64)
    total = float(reached.sum())
    spread = cost = 0.0
    for owner in np.unique(process).tolist():
        mine = process == owner
        deals = float(mine.sum())
        p_group = float(outcome[mine].mean())
        share = float(reached[mine].sum()) / total
        cost -= share * _noise(float(outcome[mine].sum()), deals)
        for position in range(reached.shape[1]):
            members = mine & reached[:, position]
            count = float(members.sum())
            if count == 0:
                continue
            weight = count / total
            spread += weight * (float(outcome[members].mean()) - p_group) ** 2
            cost += weight * _noise(float(outcome[members].sum()), count)
    if cost <= 1e-15:
        return Sufficiency(n, wins, 0, spread, cost, closing_days)  # milestones cost nothing
    if spread <= 1e-15:
        return Sufficiency(n, wins, None, spread, cost, closing_days)
    needed = math.ceil(n * 2.0 * cost / spread - 1e-9)
    return Sufficiency(n, wins, needed, spread, cost, closing_days)


def _noise(wins: float, deals: float) -> float:
    """The variance of a win rate estimated from `deals`, its rate moved by half a deal."""
    rate = (wins + 0.5) / (deals + 1.0)
    return rate * (1.0 - rate) / deals
