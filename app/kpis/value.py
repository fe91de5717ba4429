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
  and open); their landmark is the event;
- *comparable*: stays still there and open at the band's start whose event had not happened
  by the band's end (they may still have it later: "not yet", not "never"); their landmark is
  the band's start.

**Open deals count, censored.** The outcome compared is winning within `HORIZON_DAYS` of the
landmark. Counting only deals closed by now would favour fast closers: of the deals that reached
a milestone lately, only those that closed quickly would be there. Instead, in each cell and
group, the chance of winning by the horizon is the Aalen-Johansen cumulative incidence of
*won*, with *lost* the competing outcome and a deal still open now censored at now:

    P(won by H) = Σ over close times t ≤ H of S(t-) · won(t) / at_risk(t)

where `at_risk(t)` counts the group's deals neither closed before t nor censored before t, and
`S` is the Kaplan-Meier chance of being still open (both outcomes end it). With no deal open,
this is the plain share won by H. Its variance is taken as binomial, p(1 - p) / m, over the
`m` deals whose state at the horizon is known (closed by then, or followed past it), which is
exact without censoring and conservative with it.

The comparable chance is standardised to the reached deals' cells (weights: their stay
counts), so the difference is the lift for deals like the ones that reached it. Its variance
adds the cells' variances with those weights; 95 % interval and a two-sided z-test. A deal may
be comparable in several bands, which makes the interval a little narrow; the bands keep that
small.

    lift = matched_lift(stratum, start, until, event, outcome, closed, now)
    lift.difference, lift.low, lift.high, lift.test.p_value
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from app.kpis.columns import Bools, Floats, Ints
from app.kpis.drift import DAY, Z95, Comparison, Interval, median_interval, normal_sf

__all__ = [
    "BANDS_DAYS",
    "HORIZON_DAYS",
    "MIN_DEALS",
    "Lift",
    "incidence",
    "matched_lift",
    "out_of_order",
    "step_days",
]

BANDS_DAYS: tuple[float, ...] = (0.0, 7.0, 14.0, 28.0, 56.0, 112.0, math.inf)
HORIZON_DAYS = 365.0
"""Winning within this many days of the landmark is the outcome compared: long enough for
nearly every B2B cycle to end, so it is "wins", not "wins fast"."""
MIN_DEALS = 20
"""Fewer deals than this with a known outcome at the horizon, with the event or comparable to
them: too few to tell."""

WON, LOST, OPEN = 1, 0, -1


@dataclass(frozen=True, slots=True)
class Lift:
    """Win chance of the deals that had the event, of comparable deals, and the difference."""

    reached: Interval
    """`n` is the stays that had the event (open ones included)."""
    comparable: Interval
    """Standardised to the reached deals' cells; `n` is comparable stays in those cells."""
    difference: float
    low: float
    high: float
    ratio: float | None
    """reached / comparable (None when comparable deals never won)."""
    test: Comparison


@dataclass(frozen=True, slots=True)
class Incidence:
    """One group's chance of winning by the horizon, the stays it rests on, and how many of
    them have a known state at the horizon."""

    chance: float
    stays: int
    known: int


def incidence(follow: Floats, outcome: Ints, horizon: float) -> Incidence:
    """Aalen-Johansen cumulative incidence of winning by `horizon` (seconds after each stay's
    landmark). `follow`: seconds from the landmark to the close, or to now for an open deal
    (`outcome` -1: censored there). Censoring at a close time counts after the closes."""
    stays = int(follow.shape[0])
    closed = outcome != OPEN
    known = int((closed & (follow <= horizon)).sum() + (follow > horizon).sum())
    ends = follow[closed & (follow <= horizon)]
    if stays == 0 or ends.shape[0] == 0:
        return Incidence(0.0, stays, known)
    times, where = np.unique(ends, return_inverse=True)
    ended = np.bincount(where, minlength=times.shape[0])
    won = np.bincount(where, weights=(outcome[closed & (follow <= horizon)] == WON))
    ordered = np.sort(follow)
    at_risk = stays - np.searchsorted(ordered, times, side="left")
    still_open = np.cumprod(1.0 - ended / at_risk)
    before = np.concatenate([[1.0], still_open[:-1]])
    chance = float((before * won / at_risk).sum())
    return Incidence(min(1.0, max(0.0, chance)), stays, known)  # rounding stays within 0..1


def _cells(
    stratum: Ints,
    start: Floats,
    until: Floats,
    event: Floats,
    outcome: Ints,
    closed: Floats,
    now: float,
    horizon: float,
) -> list[tuple[Incidence, Incidence]]:
    """Per (stratum, band) with stays on both sides: (reached, comparable) incidences."""
    end = np.where(outcome == OPEN, now, closed)
    age = (event - start) / DAY
    inside = ~np.isnan(event) & (event >= start) & (event <= until) & (event <= now)
    cells: list[tuple[Incidence, Incidence]] = []
    for low, high in pairwise(BANDS_DAYS):
        treated = inside & (age >= low) & (age < high)
        edge = start + low * DAY
        not_yet = np.isnan(event) | (event >= start + high * DAY)
        control = (until > edge) & (edge <= now) & not_yet
        for s in np.unique(stratum[treated | control]):
            t = treated & (stratum == s)
            c = control & (stratum == s)
            if t.any() and c.any():
                cells.append(
                    (
                        incidence(end[t] - event[t], outcome[t], horizon),
                        incidence(end[c] - edge[c], outcome[c], horizon),
                    )
                )
    return cells


def matched_lift(
    stratum: Ints,
    start: Floats,
    until: Floats,
    event: Floats,
    outcome: Ints,
    closed: Floats,
    now: float,
    horizon_days: float = HORIZON_DAYS,
) -> Lift | None:
    """The lift of an event over comparable deals, one row per stay: its stratum (e.g. the
    milestone the deal was at), when it began, when it ended other than by the event (moving
    on, or closing; inf if not), when the event happened (NaN if not), the deal's outcome
    (1 won, 0 lost, -1 open) and when it closed (inf if open); `now` is when open deals were
    last seen. None when fewer than `MIN_DEALS` deals with a known outcome on either side can
    be matched."""
    cells = [
        (t, c)
        for t, c in _cells(stratum, start, until, event, outcome, closed, now, horizon_days * DAY)
        if t.known and c.known
    ]
    treated = sum(t.stays for t, _ in cells)
    if sum(t.known for t, _ in cells) < MIN_DEALS or sum(c.known for _, c in cells) < MIN_DEALS:
        return None
    reached_rate = comparable_rate = reached_variance = comparable_variance = 0.0
    for t, c in cells:
        weight = t.stays / treated
        pt, pc = t.chance, c.chance
        reached_rate += weight * pt
        comparable_rate += weight * pc
        reached_variance += weight * weight * pt * (1 - pt) / t.known
        comparable_variance += weight * weight * pc * (1 - pc) / c.known
    variance = reached_variance + comparable_variance
    difference = reached_rate - comparable_rate
    se = math.sqrt(variance)
    if se > 0:
        z = difference / se
        test = Comparison(z, min(1.0, 2.0 * normal_sf(abs(z))))
    else:
        test = Comparison(0.0, 1.0 if difference == 0 else 0.0)
    return Lift(
        reached=_interval(reached_rate, reached_variance, treated),
        comparable=_interval(comparable_rate, comparable_variance, sum(c.stays for _, c in cells)),
        difference=difference,
        low=difference - Z95 * se,
        high=difference + Z95 * se,
        ratio=None if comparable_rate == 0 else reached_rate / comparable_rate,
        test=test,
    )


def _interval(value: float, variance: float, n: int) -> Interval:
    half = Z95 * math.sqrt(max(0.0, variance))
    return Interval(value, max(0.0, value - half), min(1.0, value + half), n)


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
