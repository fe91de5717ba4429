"""Drift of a step's conversion and time-to-next over rolling windows of weekly cohorts.

A step is "from milestone k to the next": the deals that reached k form cohorts by the week
(Monday 00:00 UTC) they reached it. Recent cohorts have not had their chance yet, so a step is
read over a fixed horizon H: a deal of a cohort converted when it reached a later milestone
within H days of reaching k, and only cohorts whose every deal is at least H days old at
`as_of` are read ("mature" cohorts). Within H the outcome of every such deal is known — no
censoring is left — so plain binomial and rank tests apply.

H is the step's own 80th percentile of days to the next milestone among the deals that took
it (over the deals old enough for every advance within 91 days to be seen), kept between 7
and 91 days: four in five
conversions are seen within it, so conversion within H moves with conversion, and recent
cohorts mature in weeks, not months.

Windows, in mature weeks: the recent window is the last `RECENT_WEEKS` (8: two months of
cohorts, enough deals at small volumes, short enough to answer soon after a change); the
baseline is the `BASELINE_WEEKS` (26: half a year, three times the recent deals, and recent
enough that what changed a year ago is not held against today).
Tests: conversion within H, recent vs baseline, two-proportion z-test (pooled); days to the
next milestone among the deals converting within H, Mann-Whitney rank-sum (normal
approximation with the tie correction). Both two-sided. The false-alarm rate over every test
of an answer is held by Benjamini-Hochberg at q = 0.05 (`benjamini_hochberg`).

"Since when" (`change_week`): among the weeks from `SCAN_WEEKS` before the end of the series
to two weeks before it, the split of the series into before / after where the difference is
statistically clearest (largest |z| of the same test, in the direction of the flagged change).

    step = step_drift(reached_k, reached_next, as_of, horizon_days=h)
    flagged = benjamini_hochberg([t.p_value for t in tests], q=0.05)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

__all__ = [
    "BASELINE_WEEKS",
    "FALSE_DISCOVERY_RATE",
    "MIN_BASELINE",
    "MIN_RECENT",
    "RECENT_WEEKS",
    "SCAN_WEEKS",
    "Comparison",
    "Interval",
    "StepDrift",
    "benjamini_hochberg",
    "change_week",
    "horizon_days",
    "median_interval",
    "normal_sf",
    "rank_sum",
    "step_drift",
    "two_proportions",
    "wilson",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

DAY = 86_400.0
WEEK = 7 * DAY
Z95 = 1.959963984540054
RECENT_WEEKS = 8
BASELINE_WEEKS = 26
SCAN_WEEKS = 16
"""How far back the change point is searched: a change older than that sits in the baseline."""
MIN_RECENT = 20
MIN_BASELINE = 40
"""Fewer deals than these in a window: the step is not tested (too few to tell)."""
HORIZON_QUANTILE = 0.8
HORIZON_BOUNDS = (7.0, 91.0)
FALSE_DISCOVERY_RATE = 0.05
_MONDAY = 4 * DAY  # 1970-01-01 was a Thursday: Monday 1970-01-05 starts week 0


# -- the statistics -----------------------------------------------------------------------------


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _two_sided(z: float) -> float:
    return min(1.0, 2.0 * normal_sf(abs(z)))


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its 95 % interval and the deals it rests on."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True, slots=True)
class Comparison:
    z: float
    """Positive: the second sample is higher."""
    p_value: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """The share `successes / n` with its Wilson score interval."""
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    share = successes / n
    denominator = 1.0 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return Interval(share, max(0.0, centre - half), min(1.0, centre + half), n)


def two_proportions(x1: int, n1: int, x2: int, n2: int) -> Comparison:
    """Two-proportion z-test with the pooled variance: is x2/n2 different from x1/n1?"""
    if n1 <= 0 or n2 <= 0:
        return Comparison(0.0, 1.0)
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return Comparison(0.0, 1.0)
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    return Comparison(z, _two_sided(z))


def rank_sum(first: Floats, second: Floats) -> Comparison:
    """Mann-Whitney rank-sum test, normal approximation with the tie correction: does
    `second` tend to be larger than `first`?"""
    n1, n2 = int(first.shape[0]), int(second.shape[0])
    if n1 == 0 or n2 == 0:
        return Comparison(0.0, 1.0)
    values = np.concatenate([first, second])
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.shape[0])
    sorted_values = values[order]
    _, starts, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = starts + (counts + 1) / 2.0  # 1-based mean rank of each tied group
    ranks[order] = np.repeat(average, counts)
    u = float(ranks[n1:].sum()) - n2 * (n2 + 1) / 2.0
    n = n1 + n2
    ties = float((counts**3 - counts).sum())
    variance = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return Comparison(0.0, 1.0)
    z = (u - n1 * n2 / 2.0) / math.sqrt(variance)
    return Comparison(z, _two_sided(z))


def median_interval(values: Floats, z: float = Z95) -> Interval:
    """The median with its distribution-free interval: the order statistics at ranks
    n/2 ± z·√n/2 (the binomial count below the median, normal approximation)."""
    n = int(values.shape[0])
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    ordered = np.sort(values)
    half = z * math.sqrt(n) / 2.0
    low = max(0, math.floor(n / 2.0 - half))
    high = min(n - 1, math.ceil(n / 2.0 + half) - 1)
    return Interval(float(np.median(ordered)), float(ordered[low]), float(ordered[high]), n)


def benjamini_hochberg(p_values: Sequence[float], q: float = FALSE_DISCOVERY_RATE) -> list[bool]:
    """Which hypotheses are rejected with the false discovery rate held at `q`: the largest
    rank i with p_(i) <= i·q/m, and every smaller p-value with it."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    cutoff = 0
    for rank, index in enumerate(order, start=1):
        if p_values[index] <= rank * q / m:
            cutoff = rank
    rejected = [False] * m
    for index in order[:cutoff]:
        rejected[index] = True
    return rejected


def horizon_days(reached: Floats, advanced: Floats, as_of: float) -> float | None:
    """H: the 80th percentile of days from k to the next milestone among the deals that took
    it, clamped to 7..91 days. Read over the deals that reached k in the two years before
    `as_of` but at least 91 days before it, so that every advance within 91 days is seen."""
    low, high = HORIZON_BOUNDS
    seen = (reached >= as_of - 730 * DAY) & (reached <= as_of - high * DAY) & ~np.isnan(advanced)
    if not seen.any():
        return None
    times = np.sort(np.maximum(advanced[seen] - reached[seen], 0.0) / DAY)
    value = float(times[max(0, math.ceil(HORIZON_QUANTILE * times.shape[0]) - 1)])
    return float(min(high, max(low, math.ceil(value))))


# -- one step -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepDrift:
    """What one step's cohorts say: the horizon, both windows and both tests; `since` and the
    rates before / after it come from the change-point scan (None when the step was not
    tested)."""

    horizon_days: float | None
    window_end: float | None
    """End (exclusive, epoch seconds, a Monday) of the newest mature weekly cohort."""
    baseline_conversion: Interval | None
    recent_conversion: Interval | None
    conversion_test: Comparison | None
    baseline_days: Interval | None
    recent_days: Interval | None
    days_test: Comparison | None
    conversion_since: float | None = None
    conversion_before: Interval | None = None
    conversion_after: Interval | None = None
    days_since: float | None = None
    days_before: Interval | None = None
    days_after: Interval | None = None


def _week_start(moment: float) -> float:
    return math.floor((moment - _MONDAY) / WEEK) * WEEK + _MONDAY


def change_week(
    week: Ints, converted: npt.NDArray[np.bool_], *, sign: float, weeks: int, days: Floats | None
) -> int | None:
    """The week index (0 = the series' first week, `weeks` = its end) from which the change
    holds: the split with the largest z in the direction `sign`, searched over the last
    `SCAN_WEEKS` weeks but two. Conversion when `days` is None, else days among converters."""
    best: tuple[float, int] | None = None
    for split in range(max(1, weeks - SCAN_WEEKS), weeks - 1):
        after = week >= split
        if days is None:
            n2, n1 = int(after.sum()), int((~after).sum())
            x2 = int(converted[after].sum())
            x1 = int(converted[~after].sum())
            z = two_proportions(x1, n1, x2, n2).z
        else:
            z = rank_sum(days[converted & ~after], days[converted & after]).z
        if best is None or sign * z > best[0]:
            best = (sign * z, split)
    return None if best is None else best[1]


def step_drift(
    reached: Floats,
    advanced: Floats,
    as_of: float,
    *,
    horizon: float | None,
    recent_weeks: int = RECENT_WEEKS,
    baseline_weeks: int = BASELINE_WEEKS,
) -> StepDrift:
    """The step's drift from the instants (epoch seconds) each deal reached k (`reached`) and
    then a later milestone (`advanced`, NaN if not), at `as_of`, over the horizon in days."""
    if horizon is None:
        return StepDrift(None, None, None, None, None, None, None, None)
    end = _week_start(as_of - horizon * DAY)
    start = end - (recent_weeks + baseline_weeks) * WEEK
    inside = ~np.isnan(reached) & (reached >= start) & (reached < end)
    at, then = reached[inside], advanced[inside]
    took = np.where(np.isnan(then), np.inf, np.maximum(then, at)) - at
    converted = took <= horizon * DAY
    days = took / DAY
    week = np.floor((at - start) / WEEK).astype(np.int64)
    weeks = recent_weeks + baseline_weeks
    recent = week >= baseline_weeks
    n1, n2 = int((~recent).sum()), int(recent.sum())
    x1, x2 = int(converted[~recent].sum()), int(converted[recent].sum())
    baseline_rate, recent_rate = wilson(x1, n1), wilson(x2, n2)
    before_days = days[converted & ~recent]
    after_days = days[converted & recent]
    step = StepDrift(
        horizon, end, baseline_rate, recent_rate, None, median_interval(before_days),
        median_interval(after_days), None,
    )  # fmt: skip
    if n1 < MIN_BASELINE or n2 < MIN_RECENT:
        return step
    conversion_test = two_proportions(x1, n1, x2, n2)
    days_test = (
        rank_sum(before_days, after_days)
        if before_days.shape[0] >= MIN_BASELINE and after_days.shape[0] >= MIN_RECENT
        else None
    )
    split = change_week(
        week, converted, sign=math.copysign(1.0, conversion_test.z), weeks=weeks, days=None
    )
    found: dict[str, object] = {
        "conversion_test": conversion_test,
        "days_test": days_test,
    }
    if split is not None:
        after = week >= split
        found |= {
            "conversion_since": start + split * WEEK,
            "conversion_before": wilson(int(converted[~after].sum()), int((~after).sum())),
            "conversion_after": wilson(int(converted[after].sum()), int(after.sum())),
        }
    if days_test is not None:
        split = change_week(
            week, converted, sign=math.copysign(1.0, days_test.z), weeks=weeks, days=days
        )
        if split is not None:
            after = week >= split
            found |= {
                "days_since": start + split * WEEK,
                "days_before": median_interval(days[converted & ~after]),
                "days_after": median_interval(days[converted & after]),
            }
    return replace(step, **found)  # type: ignore[arg-type]
