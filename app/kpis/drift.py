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
Tests: days to the next milestone among the deals converting within H, Mann-Whitney rank-sum
(normal approximation with the tie correction); conversion, recent vs baseline, two-proportion
z-test (pooled), at the recent pace. Both two-sided. The false-alarm rate over every test of an
answer is held by Benjamini-Hochberg at q = 0.05 (`benjamini_hochberg`).

The pace: when deals move slower, fewer of them reach the next milestone within H even if as
many get there in the end, so conversion within a fixed H would report every slowdown as a
drop too. Conversion is therefore compared at the same pace: `pace` is the factor s by which
the recent days to next are the baseline's stretched (the s at which the recent converters'
days and the baseline converters' days times s, both cut at H, are alike by rank:
`pace`), and recent conversion within H is compared with baseline conversion within H / s,
the uncertainty of s added to the test's variance (`paced_conversion`). Baseline cohorts are
at least H plus the recent window old, so they are read that far; s is kept where they can be.

New deals (`created_drift`): the deals created per week in the recent weeks against the
baseline weeks (complete weeks up to `as_of`, none before the process's first deal), as a
quasi-Poisson comparison whose variance is the baseline weeks' own (at least their mean):
weekly counts swing with seasons and campaigns far more than a Poisson count does, and only a
change larger than that swing is one (`rate_comparison`).

"Since when" (`change_week`): among the weeks from `SCAN_WEEKS` before the end of the series
to two weeks before it, the split of the series into before / after where the difference is
statistically clearest (largest |z| of the same test, in the direction of the flagged change).

    step = step_drift(reached_k, reached_next, as_of, horizon_days=h)
    inflow = created_drift(created, as_of)
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
    "MIN_BASELINE_WEEKS",
    "MIN_RECENT",
    "RECENT_WEEKS",
    "SCAN_WEEKS",
    "Comparison",
    "Interval",
    "Pace",
    "RateDrift",
    "StepDrift",
    "benjamini_hochberg",
    "business_days",
    "change_week",
    "created_drift",
    "horizon_days",
    "median_interval",
    "normal_sf",
    "pace",
    "paced_conversion",
    "rank_sum",
    "rate_change_week",
    "rate_comparison",
    "step_drift",
    "two_proportions",
    "weekly_rate",
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
MIN_BASELINE_WEEKS = 13
"""Fewer baseline weeks since the process's first deal: its inflow is not tested (a quarter
at least, so that its weekly swing is known)."""
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


def rate_comparison(before: Floats, after: Floats) -> Comparison:
    """Quasi-Poisson comparison of weekly counts: is the mean of `after` different from the mean
    of `before`, given how `before` swings? The variance of after's mean is the larger of the
    weekly variance of `before` (at least its mean, as a Poisson count's) over len(after), and
    the variance of the means of len(after) consecutive weeks of `before` (seasons and trends
    move whole months together, not single weeks); the variance of before's mean is its weekly
    variance over len(before). z = (mean_after - mean_before) / sqrt(both)."""
    n1, n2 = int(before.shape[0]), int(after.shape[0])
    if n1 < 2 or n2 == 0:
        return Comparison(0.0, 1.0)
    mean = float(before.mean())
    weekly = max(float(before.var(ddof=1)), mean)
    blocks = np.convolve(before, np.full(n2, 1.0 / n2), mode="valid")
    block = float(blocks.var(ddof=1)) if blocks.shape[0] >= 2 else 0.0
    variance = max(weekly / n2, block) + weekly / n1
    if variance <= 0:
        return Comparison(0.0, 1.0)
    z = (float(after.mean()) - mean) / math.sqrt(variance)
    return Comparison(z, _two_sided(z))


def weekly_rate(counts: Floats, z: float = Z95) -> Interval:
    """Deals a week: the mean of weekly counts with its normal interval (the weeks' own variance,
    at least their mean); `n` is the deals counted."""
    weeks = int(counts.shape[0])
    if weeks == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(counts.mean())
    variance = max(float(counts.var(ddof=1)) if weeks > 1 else mean, mean)
    half = z * math.sqrt(variance / weeks)
    return Interval(mean, max(0.0, mean - half), mean + half, int(counts.sum()))


def business_days(moment: Floats) -> Floats:
    """Weekday time (in days) from Monday 1970-01-05 to each instant: weekends do not count."""
    offset = moment - _MONDAY
    weeks = np.floor(offset / WEEK)
    return weeks * 5.0 + np.minimum((offset - weeks * WEEK) / DAY, 5.0)


@dataclass(frozen=True, slots=True)
class Pace:
    """Recent time to next over the baseline's: the best fit, and every factor the days do not
    reject (Mann-Whitney |z| <= 1.96), smallest first."""

    value: float
    consistent: tuple[float, ...]


PACE_STEPS = 41
"""Factors tried, evenly on a log scale between the bounds (and 1: no change)."""
MIN_PACE = 5
"""Fewer converters than this on either side: the pace is not told (any is possible)."""


def pace(
    baseline: Floats,
    recent: Floats,
    followed: Floats,
    cohort: Ints,
    *,
    seen: float,
    bounds: tuple[float, float],
) -> Pace:
    """How many times longer the recent step takes than the baseline's: the factors s at which
    the recent deals' times and s times the baseline deals' are alike by rank. Times are
    business days (inf: not taken), since deals move on weekdays: a slowdown stretches weekday
    time. Each recent cohort is read as far as it is followed (`followed`, business days to
    `as_of`; the baseline is followed at least `seen`): within a cohort, its deals that took
    the step by then against s times the baseline's that took it within that time / s, by the
    Mann-Whitney z; the cohorts' z are joined weighted by the square root of their deals
    (Stouffer). s is tried within `bounds`; with fewer than `MIN_PACE` recent deals that took
    the step every s there is consistent (and 1 the best)."""
    factors = sorted({1.0, *(float(f) for f in np.geomspace(bounds[0], bounds[1], PACE_STEPS))})
    cohorts = [
        (recent[(cohort == c) & (recent <= cut)], cut)
        for c in np.unique(cohort)
        for cut in [float(followed[cohort == c].min())]
    ]
    if sum(int(times.shape[0]) for times, _ in cohorts) < MIN_PACE:
        return Pace(1.0, tuple(factors))  # too few to tell: every pace is possible
    taken = np.sort(baseline[np.isfinite(baseline)])
    fits: list[tuple[float, float]] = []
    for factor in factors:
        joined, weights = 0.0, 0
        for times, cut in cohorts:
            cut = min(cut, factor * seen)
            within = times[times <= cut]
            scaled = taken[taken <= cut / factor] * factor
            if within.shape[0] and scaled.shape[0] >= MIN_PACE:
                joined += math.sqrt(within.shape[0]) * rank_sum(scaled, within).z
                weights += int(within.shape[0])
        if weights >= MIN_PACE:
            fits.append((abs(joined / math.sqrt(weights)), factor))
    if not fits:
        return Pace(1.0, tuple(factors))
    best = min(fits)[1]
    consistent = tuple(sorted(f for z, f in fits if z <= Z95)) or (best,)
    return Pace(best, consistent)


def paced_conversion(
    baseline: Floats, baseline_budget: Floats, x2: int, n2: int, pace_found: Pace
) -> Comparison:
    """Recent conversion (`x2` of `n2` within their budget) against the baseline's at the
    recent pace (a baseline deal converted when it took the step within its budget / pace),
    two-proportion z-test whose variance adds the pace's own uncertainty: the baseline's
    conversion over the paces the days do not reject (a 95 % band) spans 2 x 1.96 of its
    standard errors. A conversion change is one that the pace, as surely as it is known,
    does not explain. Testing at every pace the days allow and keeping the least clear test
    would do the same with much less power: it treats the band's far end as likely as its
    middle."""
    n1 = int(baseline.shape[0])
    if n1 <= 0 or n2 <= 0:
        return Comparison(0.0, 1.0)

    def converted(factor: float) -> float:
        return float((baseline <= baseline_budget / factor).sum()) / n1

    p1 = converted(pace_found.value)
    shares = [converted(f) for f in pace_found.consistent] or [p1]
    pace_error = (max(shares) - min(shares)) / (2 * Z95)
    pooled = (p1 * n1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2) + pace_error**2
    if variance <= 0:
        return Comparison(0.0, 1.0)
    z = (x2 / n2 - p1) / math.sqrt(variance)
    return Comparison(z, _two_sided(z))


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
    pace: float | None = None
    """Recent days to next over the baseline's (`pace`): conversion was compared at it."""


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
    then a later milestone (`advanced`, NaN if not), at `as_of`, over the horizon in days.
    Conversion is compared at the recent pace (`pace`)."""
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
    gap = np.where(np.isnan(then), np.inf, business_days(np.maximum(then, at)) - business_days(at))
    budget = business_days(at + horizon * DAY) - business_days(at)
    followed = business_days(np.full(at.shape, as_of)) - business_days(at)
    seen = float(followed[~recent].min())  # the baseline is followed at least that long
    shortest = horizon / (horizon + recent_weeks * 7.0)  # H / how long the baseline is seen
    factor = pace(
        gap[~recent], gap[recent], followed[recent], week[recent], seen=seen,
        bounds=(shortest, 1 / shortest),
    )  # fmt: skip
    conversion_test = paced_conversion(gap[~recent], budget[~recent], x2, n2, factor)
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
        "pace": factor.value,
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


# -- new deals ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateDrift:
    """New deals a week: both windows, the test, and `since` with the rates before / after it
    (None when not tested). Intervals are deals a week; their `n` the deals counted."""

    window_end: float | None
    """End (exclusive, epoch seconds, a Monday) of the newest complete week."""
    window_start: float | None
    """The first week read (a Monday): the baseline's, or the process's first deal's."""
    baseline: Interval | None
    recent: Interval | None
    test: Comparison | None
    since: float | None = None
    before: Interval | None = None
    after: Interval | None = None


def rate_change_week(counts: Floats, *, sign: float) -> int | None:
    """The week index from which a change of weekly counts holds: the split with the largest
    two-sample z (pooled within-part variance) in the direction `sign`, over the last
    `SCAN_WEEKS` weeks but two."""
    weeks = int(counts.shape[0])
    best: tuple[float, int] | None = None
    for split in range(max(2, weeks - SCAN_WEEKS), weeks - 1):
        z = _split_z(counts[:split], counts[split:])
        if best is None or sign * z > best[0]:
            best = (sign * z, split)
    return None if best is None else best[1]


def _split_z(before: Floats, after: Floats) -> float:
    """The two-sample z of a split with the pooled within-part variance (at least the mean, as
    a Poisson count's): largest where the split fits the counts best."""
    n1, n2 = before.shape[0], after.shape[0]
    within = float(((before - before.mean()) ** 2).sum() + ((after - after.mean()) ** 2).sum())
    variance = max(within / max(n1 + n2 - 2, 1), float(np.concatenate([before, after]).mean()))
    if variance <= 0:
        return 0.0
    return (float(after.mean()) - float(before.mean())) / math.sqrt(variance * (1 / n1 + 1 / n2))


def created_drift(
    created: Floats,
    as_of: float,
    *,
    recent_weeks: int = RECENT_WEEKS,
    baseline_weeks: int = BASELINE_WEEKS,
) -> RateDrift:
    """New deals a week from the instants deals were created (epoch seconds): the last
    `recent_weeks` complete weeks before `as_of` against the `baseline_weeks` before them.
    Weeks before the first deal ever created are left out (the CRM was not used yet); fewer
    than `MIN_BASELINE_WEEKS` baseline weeks or `MIN_BASELINE` baseline deals: not tested."""
    created = created[~np.isnan(created)]
    end = _week_start(as_of)
    if created.shape[0] == 0:
        return RateDrift(end, None, None, None, None)
    start = max(end - (recent_weeks + baseline_weeks) * WEEK, _week_start(float(created.min())))
    weeks = round((end - start) / WEEK)
    inside = created[(created >= start) & (created < end)]
    counts = np.bincount(
        np.floor((inside - start) / WEEK).astype(np.int64), minlength=max(weeks, 0)
    ).astype(np.float64)[: max(weeks, 0)]
    first_recent = max(0, weeks - recent_weeks)
    baseline, recent = counts[:first_recent], counts[first_recent:]
    drift = RateDrift(end, start, weekly_rate(baseline), weekly_rate(recent), None)
    if baseline.shape[0] < MIN_BASELINE_WEEKS or baseline.sum() < MIN_BASELINE:
        return drift
    test = rate_comparison(baseline, recent)
    split = rate_change_week(counts, sign=math.copysign(1.0, test.z))
    if split is None:
        return replace(drift, test=test)
    return replace(
        drift,
        test=test,
        since=start + split * WEEK,
        before=weekly_rate(counts[:split]),
        after=weekly_rate(counts[split:]),
    )
