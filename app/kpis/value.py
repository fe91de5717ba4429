"""What an event tells about winning: deals that had it against comparable deals that had not
yet, at the same point of the process and a similar age there.

Comparing the win rate of deals that reached a milestone with that of all deals that did not
says little: deals that lived longer had more chance to reach anything, and deals further on
win more anyway. So the comparison is matched, as in a landmark analysis. Each deal's time at a
point of its process (a *stay*: from reaching milestone q until it moves past q or closes) is
split into age bands (days since reaching q: 0-7, 7-14, 14-28, 28-56, 56-112, 112+; doubling,
because the time to act is skewed and a fixed width would leave the late bands empty). In
each (stratum, band) cell:

- *reached*: stays whose event happened at an age in the band (while the deal was still there
  and open);
- *comparable*: stays still there and open at the band's start whose event had not happened
  by the band's end (they may still have it later: "not yet", not "never").

Only deals closed by now count (won = 1, lost = 0; open ones are still unknown). The win rate of
the comparable deals is standardised to the reached deals' cells (weights: their counts), so
the difference is the lift for deals like the ones that reached it. Its variance adds the
cells' binomial variances with those weights; 95 % interval and a two-sided z-test. A deal may
be comparable in several bands, which makes the interval a little narrow; the bands keep that
small.

    lift = matched_lift(stratum, start, until, event, outcome)
    lift.difference, lift.low, lift.high, lift.test.p_value
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from app.kpis.columns import Bools, Floats, Ints
from app.kpis.drift import DAY, Z95, Comparison, Interval, median_interval, normal_sf, wilson

__all__ = [
    "BANDS_DAYS",
    "MIN_DEALS",
    "Lift",
    "matched_lift",
    "out_of_order",
    "step_days",
]

BANDS_DAYS: tuple[float, ...] = (0.0, 7.0, 14.0, 28.0, 56.0, 112.0, math.inf)
MIN_DEALS = 20
"""Fewer closed deals than this with the event, or comparable to them: too few to tell."""

WON, LOST, OPEN = 1, 0, -1


@dataclass(frozen=True, slots=True)
class Lift:
    """Win rate of the deals that had the event, of comparable deals, and the difference."""

    reached: Interval
    comparable: Interval
    """Standardised to the reached deals' cells; `n` is comparable stays in those cells."""
    difference: float
    low: float
    high: float
    ratio: float | None
    """reached / comparable (None when comparable deals never won)."""
    test: Comparison


def _cells(
    stratum: Ints, start: Floats, until: Floats, event: Floats, outcome: Ints
) -> dict[tuple[int, int], list[int]]:
    """Per (stratum, band): [reached, reached won, comparable, comparable won] closed stays."""
    closed = outcome != OPEN
    won = outcome == WON
    age = (event - start) / DAY
    inside = ~np.isnan(event) & (event >= start) & (event <= until)
    cells: dict[tuple[int, int], list[int]] = {}
    for band, (low, high) in enumerate(pairwise(BANDS_DAYS)):
        treated = closed & inside & (age >= low) & (age < high)
        edge = start + low * DAY
        not_yet = np.isnan(event) | (event >= start + high * DAY)
        control = closed & (until > edge) & not_yet
        for s in np.unique(stratum[treated | control]):
            t = treated & (stratum == s)
            c = control & (stratum == s)
            cells[(int(s), band)] = [
                int(t.sum()),
                int((t & won).sum()),
                int(c.sum()),
                int((c & won).sum()),
            ]
    return cells


def matched_lift(
    stratum: Ints, start: Floats, until: Floats, event: Floats, outcome: Ints
) -> Lift | None:
    """The lift of an event over comparable deals, one row per stay: its stratum (e.g. the
    milestone the deal was at), when it began, when it ended other than by the event (moving
    on, or closing; inf if not), when the event happened (NaN if not) and the deal's outcome
    (1 won, 0 lost, -1 open). None when fewer than `MIN_DEALS` closed deals on either side
    can be matched."""
    cells = [c for c in _cells(stratum, start, until, event, outcome).values() if c[0] and c[2]]
    treated = sum(c[0] for c in cells)
    controls = sum(c[2] for c in cells)
    if treated < MIN_DEALS or controls < MIN_DEALS:
        return None
    reached_rate = comparable_rate = variance = comparable_variance = 0.0
    for nt, xt, nc, xc in cells:
        weight = nt / treated
        pt, pc = xt / nt, xc / nc
        reached_rate += weight * pt
        comparable_rate += weight * pc
        comparable_variance += weight * weight * pc * (1 - pc) / nc
        variance += weight * weight * (pt * (1 - pt) / nt + pc * (1 - pc) / nc)
    difference = reached_rate - comparable_rate
    half = Z95 * math.sqrt(comparable_variance)
    se = math.sqrt(variance)
    if se > 0:
        z = difference / se
        test = Comparison(z, min(1.0, 2.0 * normal_sf(abs(z))))
    else:
        test = Comparison(0.0, 1.0 if difference == 0 else 0.0)
    return Lift(
        reached=wilson(sum(c[1] for c in cells), treated),
        comparable=Interval(
            comparable_rate, max(0.0, comparable_rate - half), min(1.0, comparable_rate + half),
            controls,
        ),
        difference=difference,
        low=difference - Z95 * se,
        high=difference + Z95 * se,
        ratio=None if comparable_rate == 0 else reached_rate / comparable_rate,
        test=test,
    )  # fmt: skip


def step_days(start: Floats, event: Floats) -> Interval:
    """Median days from `start` to `event` (the time a step adds), over rows that have both."""
    took = ~np.isnan(start) & ~np.isnan(event) & (event >= start)
    return median_interval((event[took] - start[took]) / DAY)


def out_of_order(reach: Floats, position: int) -> tuple[int, int]:
    """(deals that reached `position`, those of them that reached it only after a later
    position): a milestone often reached late is not where the process puts it."""
    at = reach[:, position]
    reached: Bools = ~np.isnan(at)
    later = reach[:, position + 1 :]
    first_later = np.where(np.isnan(later), np.inf, later).min(axis=1, initial=np.inf)
    late = reached & (first_later < at)
    return int(reached.sum()), int(late.sum())
