"""The movement a target requires: the funnel run backwards, exactly.

A target asks for more won value (deals, or amount) inside a period. Counted in *units* (one
deal, or a slice of the typical won amount: `Units`), `needed` units are still missing. Two
things can bring them:

- the open deals, each won inside the period with the fitted model's probability p_i, worth
  its own units: a Poisson-binomial number of units (`open_wins`);
- new movement at a milestone k: a deal that reaches k in plan week w is won inside the
  period with probability q_k(w) (`arrival_chances`, from the won-incidence curve that
  followed arrival at k in history), worth the units of a typical win.

With n_w deals reaching k in week w, and only the open deals already at k or beyond counted
as the open part (a deal below k has to reach k to count, and is then part of the movement),

    P(reach) = P(open units + unit * Σ_w Binomial(n_w, q_k(w)) ≥ needed)

computed exactly by convolution (`reach_chance`). `requirement` finds the fewest arrivals N
at k, spread over the weeks where q_k(w) > 0 in proportion to their days (`schedule`), for
which P(reach) is at least 50 % or 80 %. Each milestone's requirement is one way to close the
gap on its own; together they say how much movement the target needs at every milestone.

    weeks = plan_weeks(period_start, period_end, now)
    q = arrival_chances(model, process, position, weeks, period_start, period_end)
    tail = tail_chances(open_wins(p, units, needed))
    found = requirement(tail, needed, unit, q, [w.days for w in weeks], 0.8)
    found.counts            # deals that must reach the milestone in each week
    required_by(found.counts, weeks, moment)     # ... by `moment`, for on track / behind
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

import numpy as np

from app.kpis.columns import Floats, Ints
from app.kpis.history import DAY, days_between
from app.kpis.winmodel import WinModel

__all__ = [
    "CONFIDENCES",
    "MAX_ARRIVALS",
    "PlanWeek",
    "Requirement",
    "Units",
    "arrival_chances",
    "binomial_head",
    "open_wins",
    "plan_weeks",
    "reach_chance",
    "required_by",
    "requirement",
    "schedule",
    "tail_chances",
    "units_for",
]

CONFIDENCES: tuple[float, ...] = (0.5, 0.8)
MAX_ARRIVALS = 1_000_000
"""No requirement is searched beyond this many arrivals in the whole plan."""
_TOLERANCE = 1e-9
_INSTANT = 1e-9
"""Days: a won incidence read just before an instant counts a win at that instant as after."""
_FFT_ABOVE = 256
"""Convolutions longer than this go through the FFT; shorter ones are computed directly."""


@dataclass(frozen=True)
class PlanWeek:
    """A calendar week (Monday 00:00 UTC) of a plan, cut to the plan's span."""

    week: datetime
    """The Monday the week starts on."""
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return days_between(self.start, self.end)


def plan_weeks(period_start: datetime, period_end: datetime, since: datetime) -> list[PlanWeek]:
    """The calendar weeks from `since` to the period's end, the first and last cut to them.

    A plan made before the period starts begins at `since`: movement before the period can
    be won inside it."""
    weeks: list[PlanWeek] = []
    day = since.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = day - timedelta(days=day.weekday())
    while monday < period_end:
        following = monday + timedelta(days=7)
        start, end = max(monday, since), min(following, period_end)
        if end > start:
            weeks.append(PlanWeek(monday, start, end))
        monday = following
    return weeks


def _pieces(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """The span cut at midnights: each piece's middle and its length in days."""
    pieces: list[tuple[datetime, float]] = []
    moment = start
    while moment < end:
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        stop = min(midnight, end)
        pieces.append((moment + (stop - moment) / 2, days_between(moment, stop)))
        moment = stop
    return pieces


def arrival_chances(
    model: WinModel,
    process: int | None,
    position: int,
    weeks: Sequence[PlanWeek],
    period_start: datetime,
    period_end: datetime,
) -> list[float]:
    """q(w): P(a deal reaching `position` in week w is won inside the period), for arrivals
    spread evenly over the week: the mean, over the middle of each day of the week, of the
    fitted won incidence from arrival (the curve `WinModel.win` reads for a deal just
    arrived) between the period's start and end. A win at the very moment of arrival (a
    milestone that is the signature itself) counts."""
    curve, _, _ = model.curve(process, position, 0.0)

    def won_by(days: float) -> float:
        assert curve is not None
        return 0.0 if days < 0.0 else float(curve.won_by(days))

    chances: list[float] = []
    for week in weeks:
        total = weight = 0.0
        for middle, days in _pieces(week.start, week.end):
            if curve is not None:
                opens = days_between(middle, period_start) - _INSTANT
                closes = days_between(middle, period_end) - _INSTANT
                gained = won_by(closes) - won_by(opens)
                total += days * max(0.0, gained)
            weight += days
        chances.append(total / weight if weight > 0 else 0.0)
    return chances


@dataclass(frozen=True)
class Units:
    """How value is counted: `size` (deals, or currency) per unit, units a new win brings,
    and units still needed."""

    size: float
    per_win: int
    needed: int


def units_for(remaining: float, win_value: float, size: float) -> Units:
    """`remaining` value to win in units of `size`; a new win is worth `win_value`."""
    needed = max(0, math.ceil(remaining / size - 1e-9))
    return Units(size, max(1, round(win_value / size)), needed)


def open_wins(chances: Floats, units: Ints, size: int) -> Floats:
    """P(the open deals' won units total u), for u < `size`: independent deals, deal i won
    with probability `chances[i]` and worth `units[i]` (a Poisson-binomial with weights)."""
    pmf = np.zeros(max(size, 1))
    pmf[0] = 1.0
    for p, w in zip(np.clip(chances, 0.0, 1.0).tolist(), units.tolist(), strict=True):
        if p <= 0.0 or w <= 0:
            continue
        shifted = pmf[: max(0, size - w)] * p
        pmf *= 1.0 - p
        if shifted.shape[0]:
            pmf[w:] += shifted
    return pmf[:size]


def tail_chances(pmf: Floats) -> Floats:
    """`tail[x]` = P(total ≥ x) for x = 0 .. len(pmf), from the head of its distribution."""
    below = np.concatenate([[0.0], np.cumsum(pmf)])
    tail: Floats = np.clip(1.0 - below, 0.0, 1.0)
    return tail


def binomial_head(n: int, q: float, size: int) -> Floats:
    """P(Binomial(n, q) = k) for k < `size` (computed in logs: n may be large)."""
    head = np.zeros(size)
    if size <= 0:
        return head
    if n <= 0 or q <= 0.0:
        head[0] = 1.0
        return head
    if q >= 1.0:
        if n < size:
            head[n] = 1.0
        return head
    k = np.arange(1, min(size, n + 1), dtype=np.float64)
    steps = np.log(n - k + 1.0) - np.log(k) + math.log(q) - math.log1p(-q)
    logs = n * math.log1p(-q) + np.concatenate([[0.0], np.cumsum(steps)])
    head[: logs.shape[0]] = np.exp(logs)
    return head


def _convolve_head(a: Floats, b: Floats, size: int) -> Floats:
    if size <= _FFT_ABOVE:
        return np.convolve(a, b)[:size]
    length = 1 << (2 * size - 1).bit_length()
    product = np.fft.irfft(np.fft.rfft(a, length) * np.fft.rfft(b, length), length)[:size]
    out: Floats = np.clip(product, 0.0, None)
    return out


def reach_chance(
    tail: Floats, needed: int, unit: int, chances: Sequence[float], counts: Sequence[int]
) -> float:
    """P(open units + `unit` * Σ_w Binomial(counts[w], chances[w]) ≥ `needed`), exactly;
    `tail[x]` is P(open units ≥ x) for x ≤ needed."""
    if needed <= 0:
        return 1.0
    wins = math.ceil(needed / unit)  # this many new wins close the gap by themselves
    head = np.zeros(wins)
    head[0] = 1.0
    for q, n in zip(chances, counts, strict=True):
        if n > 0 and q > 0.0:
            head = _convolve_head(head, binomial_head(n, q, wins), wins)
    short = np.maximum(0, needed - unit * np.arange(wins))
    chance = max(0.0, 1.0 - float(head.sum())) + float(head @ tail[short])
    return min(1.0, chance)


def schedule(total: int, days: Sequence[float], chances: Sequence[float]) -> list[int]:
    """`total` arrivals spread over the weeks where a deal can still be won (chance > 0), in
    proportion to their days: a steady pace, each week's count rounded so that the counts up
    to every week add up to the rounded share of the total up to it."""
    useful = [d if q > 0.0 else 0.0 for d, q in zip(days, chances, strict=True)]
    span = sum(useful)
    counts = [0] * len(useful)
    if total <= 0 or span <= 0.0:
        return counts
    done = 0.0
    given = 0
    for i, d in enumerate(useful):
        done += d
        upto = math.floor(total * done / span + 0.5)
        counts[i] = upto - given
        given = upto
    return counts


@dataclass(frozen=True)
class Requirement:
    """The fewest arrivals, week by week, that reach the target with `chance` ≥ the asked
    confidence (`chance` is the exact probability for these counts)."""

    total: int
    counts: tuple[int, ...]
    chance: float

    @property
    def busiest(self) -> int:
        return max(self.counts, default=0)


def _first_guess(
    tail: Floats,
    needed: int,
    unit: int,
    chances: Sequence[float],
    days: Sequence[float],
    confidence: float,
) -> int:
    """Where the search starts: the arrivals for which the normal approximation of the won
    units (open deals' mean and variance from `tail`, arrivals spread as `schedule` does)
    reaches `confidence`. Only a starting point: the exact chance decides."""
    useful = [(d, q) for d, q in zip(days, chances, strict=True) if q > 0.0 and d > 0.0]
    span = sum(d for d, _ in useful)
    if span <= 0.0:
        return 1
    mean_q = sum(d * q for d, q in useful) / span
    spread = sum(d * q * (1.0 - q) for d, q in useful) / span
    steps = np.arange(1, tail.shape[0])
    mean = float(tail[1:].sum())
    variance = max(0.0, float(((2 * steps - 1) * tail[1:]).sum()) - mean * mean)
    z = NormalDist().inv_cdf(min(max(confidence, 1e-6), 1 - 1e-6))
    a, b, gap = unit * mean_q, unit * unit * spread, needed - 0.5 - mean
    # a N - gap = z sqrt(variance + b N), for the larger root N
    qa, qb, qc = a * a, -2.0 * a * gap - z * z * b, gap * gap - z * z * variance
    root = (-qb + math.sqrt(max(0.0, qb * qb - 4 * qa * qc))) / (2 * qa)
    return max(1, min(MAX_ARRIVALS, round(root)))


def requirement(
    tail: Floats,
    needed: int,
    unit: int,
    chances: Sequence[float],
    days: Sequence[float],
    confidence: float,
    limit: int = MAX_ARRIVALS,
) -> Requirement | None:
    """The fewest arrivals (spread by `schedule`) whose chance of closing the gap, with the
    open deals, is at least `confidence`; None when no number up to `limit` does (no week
    left in which a deal reaching the milestone can still be won, or far too many needed).

    The search starts at the normal approximation's answer, widens a bracket around it by
    doubling steps and halves it down to one arrival."""

    def chance(total: int) -> tuple[float, list[int]]:
        counts = schedule(total, days, chances)
        return reach_chance(tail, needed, unit, chances, counts), counts

    confidence -= _TOLERANCE  # an exact 1/2 computed as 0.4999999999 still reaches 50 %
    got, counts = chance(0)
    if got >= confidence:
        return Requirement(0, tuple(counts), got)
    if not any(q > 0.0 for q in chances):
        return None
    guess = min(limit, _first_guess(tail, needed, unit, chances, days, confidence))
    got, counts = chance(guess)
    found = (guess, got, counts)
    step = 1
    if got >= confidence:  # widen downwards: low fails, high succeeds
        high, low = guess, 0
        while high - step > 0:
            got, counts = chance(high - step)
            if got < confidence:
                low = high - step
                break
            high, found = high - step, (high - step, got, counts)
            step *= 2
    else:  # widen upwards
        low = guess
        while True:
            if low >= limit:
                return None
            high = min(limit, low + step)
            got, counts = chance(high)
            if got >= confidence:
                found = (high, got, counts)
                break
            low, step = high, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        got, counts = chance(middle)
        if got >= confidence:
            high, found = middle, (middle, got, counts)
        else:
            low = middle
    total, got, counts = found
    return Requirement(total, tuple(counts), got)


def required_by(counts: Sequence[int], weeks: Sequence[PlanWeek], moment: datetime) -> float:
    """Arrivals the schedule asks for by `moment`: every week that has ended, and the part of
    the current week gone by (the week's count spread evenly over it)."""
    required = 0.0
    for count, week in zip(counts, weeks, strict=True):
        if moment >= week.end:
            required += count
        elif moment > week.start:
            elapsed = (moment - week.start).total_seconds() / DAY
            required += count * elapsed / max(week.days, 1e-9)
    return required
