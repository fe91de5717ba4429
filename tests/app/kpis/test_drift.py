"""The drift statistics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.kpis.drift import (
    DAY,
    WEEK,
    Comparison,
    Interval,
    Pace,
    benjamini_hochberg,
    business_days,
    created_drift,
    horizon_days,
    median_interval,
    normal_sf,
    pace,
    paced_conversion,
    rank_sum,
    rate_comparison,
    step_drift,
    two_proportions,
    weekly_rate,
    wilson,
)


def test_the_normal_tail() -> None:
    assert normal_sf(0.0) == 0.5
    assert normal_sf(1.959963984540054) == pytest.approx(0.025, abs=1e-9)
    assert normal_sf(-1.0) == pytest.approx(0.8413447, abs=1e-7)


def test_wilson_interval() -> None:
    half = wilson(5, 10)
    assert half.value == 0.5 and half.n == 10
    assert (half.low, half.high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    none = wilson(0, 10)  # upper bound z²/(n + z²) = 3.8415 / 13.8415
    assert none.low == 0.0 and none.high == pytest.approx(0.27753, abs=1e-5)
    assert math.isnan(wilson(0, 0).value)


def test_two_proportions() -> None:
    # pooled 0.4: sd = sqrt(0.4 * 0.6 * (1/100 + 1/100)) = 0.069282; z = 0.2 / sd
    test = two_proportions(30, 100, 50, 100)
    assert test.z == pytest.approx(2.886751, abs=1e-6)
    assert test.p_value == pytest.approx(0.003892, abs=1e-6)
    assert two_proportions(50, 100, 30, 100).z == pytest.approx(-2.886751, abs=1e-6)
    assert two_proportions(0, 10, 0, 10).p_value == 1.0


def test_rank_sum_without_and_with_ties() -> None:
    # ranks of the second sample 4+5+6 = 15, U = 15 - 6 = 9, mean 4.5, variance 9*7/12 = 5.25
    apart = rank_sum(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    assert apart.z == pytest.approx(4.5 / math.sqrt(5.25))
    assert apart.p_value == pytest.approx(0.049535, abs=1e-6)
    # 1 | 2 2 2 | 3 4: ranks 1, 3 3 3, 5, 6; second: 3 + 5 + 6 = 14, U = 8;
    # ties 3³ - 3 = 24: variance 9/12 * (7 - 24/30) = 4.65
    tied = rank_sum(np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0, 4.0]))
    assert tied.z == pytest.approx(3.5 / math.sqrt(4.65))


def test_median_interval_from_order_statistics() -> None:
    # n = 10: ranks 5 ∓ 1.96·√10/2 = 5 ∓ 3.099: the 2nd and the 9th values
    found = median_interval(np.arange(1.0, 11.0))
    assert (found.value, found.low, found.high, found.n) == (5.5, 2.0, 9.0, 10)


def test_benjamini_hochberg_steps_up() -> None:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == [True, False, False, False]
    # 0.04 > 2·0.05/4 on its own, but the largest rank passes (0.048 <= 4·0.05/4): all go
    assert benjamini_hochberg([0.001, 0.04, 0.045, 0.048]) == [True] * 4
    assert benjamini_hochberg([0.2, 0.9]) == [False, False]
    assert benjamini_hochberg([]) == []


def test_the_horizon_is_the_80th_percentile_of_seen_advances_clamped() -> None:
    as_of = 1000 * DAY
    reached = np.full(10, 500 * DAY)
    took = np.arange(1.0, 11.0) * 3  # 3, 6, ..., 30 days: the 8th of 10 is 24
    advanced = reached + took * DAY
    assert horizon_days(reached, advanced, as_of) == 24.0
    assert horizon_days(reached, reached + 0.5 * DAY, as_of) == 7.0  # at least a week
    assert horizon_days(reached, np.full(10, np.nan), as_of) is None
    recent = np.full(10, 950 * DAY)  # not 91 days old: not read
    assert horizon_days(recent, recent + DAY, as_of) is None


def _weekly(start: float, weeks: int, per_week: int, converting: int) -> tuple[list[float], ...]:
    reached, advanced = [], []
    for week in range(weeks):
        for deal in range(per_week):
            at = start + week * WEEK + DAY
            reached.append(at)
            advanced.append(at + 2 * DAY if deal < converting else math.nan)
    return reached, advanced


def test_a_drop_is_found_with_its_size_and_the_week_it_started() -> None:
    monday = 4 * DAY + 2800 * WEEK  # a Monday
    # 26 baseline weeks at 6 of 10, then 8 weeks at 2 of 10 from week 28 (weeks 26-27 still 6)
    first = _weekly(monday, 28, 10, 6)
    second = _weekly(monday + 28 * WEEK, 6, 10, 2)
    reached = np.array(first[0] + second[0])
    advanced = np.array(first[1] + second[1])
    as_of = monday + 34 * WEEK + 7 * DAY  # the horizon (7 days) back: week 34 starts
    found = step_drift(reached, advanced, as_of, horizon=7.0)
    assert found.window_end == monday + 34 * WEEK
    assert found.baseline_conversion is not None and found.recent_conversion is not None
    assert found.baseline_conversion.value == 0.6 and found.baseline_conversion.n == 260
    # recent: weeks 26-27 at 6, 28-33 at 2 = (12 + 12) / 80 = 0.3
    assert found.recent_conversion.value == 0.3
    assert found.conversion_test is not None and found.conversion_test.z < -4
    assert found.conversion_since == monday + 28 * WEEK
    assert found.conversion_before is not None and found.conversion_before.value == 0.6
    assert found.conversion_after is not None and found.conversion_after.value == 0.2
    assert found.days_test is not None and found.days_test.p_value == 1.0  # all took 2 days


def test_too_few_deals_are_not_tested() -> None:
    reached = np.array([4 * DAY + 2800 * WEEK])
    found = step_drift(reached, reached + DAY, reached[0] + 30 * DAY, horizon=7.0)
    assert found.conversion_test is None and found.days_test is None
    assert step_drift(reached, reached, reached[0], horizon=None).window_end is None


# -- the pace: a slowdown is not a drop ------------------------------------------------------


def test_business_days_skip_weekends() -> None:
    monday = 4 * DAY + 2800 * WEEK
    moments = np.array([monday, monday + 2.5 * DAY, monday + 5.5 * DAY, monday + 7 * DAY])
    # Monday 0:00 is 2800 weeks of 5 days; Wednesday noon 2.5 later; Saturday noon counts as
    # Friday's end, as does the next Monday 0:00
    assert business_days(moments).tolist() == [14000.0, 14002.5, 14005.0, 14005.0]


def test_pace_finds_how_much_longer_the_step_takes() -> None:
    baseline = np.linspace(0.5, 10.0, 200)  # business days to the next milestone
    recent = 2 * np.linspace(0.5, 10.0, 40)  # every one twice as long, all seen (within 30)
    found = pace(
        np.concatenate([baseline, np.full(200, np.inf)]),
        recent,
        np.full(40, 30.0),
        np.zeros(40, dtype=np.int64),
        seen=60.0,
        bounds=(0.25, 4.0),
    )
    assert found.value == pytest.approx(2.0, rel=0.05)
    assert 1.0 not in found.consistent and found.consistent[0] < 2.0 < found.consistent[-1]
    # four recent deals took the step: too few to tell, any pace the baseline shows is possible
    few = pace(baseline, recent[:4], np.full(4, 30.0), np.zeros(4, dtype=np.int64), seen=60.0,
               bounds=(0.25, 4.0))  # fmt: skip
    assert few.value == 1.0 and (few.consistent[0], few.consistent[-1]) == (0.25, 4.0)


def test_paced_conversion_is_tested_at_the_pace_found_with_its_uncertainty_added() -> None:
    baseline = np.array([1.0, 2.0, 3.0, 4.0] + [math.inf] * 4)  # 4 of 8 within 4 days
    budget = np.full(8, 4.0)
    # pace 1 found, 1..4/3 not rejected: the baseline converts 4/8 at pace 1 and 3/8 at 4/3,
    # so the pace adds (0.5 - 0.375) / (2 * 1.959964) = 0.031888 of standard error. Recent 2 of
    # 8 against 4 of 8: pooled 6/16, variance 0.375 * 0.625 * 2/8 + 0.031888^2 = 0.0596106,
    # z = -0.25 / sqrt(0.0596106) = -1.023949 (without the pace's error: -1.0328)
    found = paced_conversion(baseline, budget, 2, 8, Pace(1.0, (1.0, 4 / 3)))
    assert found.z == pytest.approx(-1.023949, abs=1e-6)
    assert found.p_value == pytest.approx(2 * normal_sf(1.023949), abs=1e-6)
    # at pace 4/3 the baseline converts 3 of 8 within the budget: pooled 5/16,
    # z = -0.125 / sqrt(0.3125 * 0.6875 * 2/8 + 0.031888^2) = -0.534326
    slower = paced_conversion(baseline, budget, 2, 8, Pace(4 / 3, (1.0, 4 / 3)))
    assert slower.z == pytest.approx(-0.534326, abs=1e-6)
    # a pace the days cannot tell (every factor consistent) leaves no clear conversion change
    unsure = paced_conversion(baseline, budget, 1, 8, Pace(1.0, (0.25, 1.0, 4.0)))
    assert abs(unsure.z) < 1.96
    assert paced_conversion(baseline, budget, 0, 0, Pace(1.0, (1.0,))) == Comparison(0.0, 1.0)


def _after_business_days(at: float, days: float) -> float:
    """From a Monday 0:00 + `at`'s offset: `days` weekdays later, weekends skipped."""
    weeks = math.floor(days / 5)
    return at + weeks * WEEK + (days - 5 * weeks) * DAY


def test_a_slowdown_is_slower_days_not_a_conversion_drop() -> None:
    monday = 4 * DAY + 2800 * WEEK
    gaps = np.quantile(np.random.default_rng(7).lognormal(math.log(3.0), 0.5, 4000),
                       np.linspace(0.025, 0.975, 20))  # fmt: skip
    reached, advanced = [], []
    for week in range(34):
        stretch = 2.0 if week >= 26 else 1.0  # the last 8 weeks take twice as long
        for deal in range(40):
            at = monday + week * WEEK
            reached.append(at)
            took = gaps[deal % 20] * stretch
            advanced.append(_after_business_days(at, took) if deal < 20 else math.nan)
    as_of = monday + 34 * WEEK + 7 * DAY
    found = step_drift(np.array(reached), np.array(advanced), as_of, horizon=7.0)
    assert found.window_end == monday + 34 * WEEK
    assert found.recent_conversion is not None and found.baseline_conversion is not None
    # within the horizon fewer recent deals got there (a clear difference at the same
    # horizon), but as many in the end: slower, not fewer
    base, recent = found.baseline_conversion, found.recent_conversion
    same_horizon = two_proportions(
        round(base.value * base.n), base.n, round(recent.value * recent.n), recent.n
    )
    assert recent.value < base.value and same_horizon.p_value < 0.001
    assert found.days_test is not None and found.days_test.z > 3
    assert found.pace == pytest.approx(2.0, rel=0.1)
    assert found.conversion_test is not None and found.conversion_test.p_value > 0.05
    assert found.days_since == monday + 26 * WEEK


# -- new deals a week -------------------------------------------------------------------------


def test_rate_comparison_against_the_weekly_and_the_monthly_swing() -> None:
    # before: mean 10, variance 8/3 below the mean, so 10; two-week means 11, 10, 9 vary by 1:
    # v = max(10 / 2, 1) + 10 / 4 = 7.5; z = (5 - 10) / sqrt(7.5)
    weekly = rate_comparison(np.array([10.0, 12.0, 8.0, 10.0]), np.array([4.0, 6.0]))
    assert weekly.z == pytest.approx(-5 / math.sqrt(7.5))
    assert weekly.p_value == pytest.approx(0.067889, abs=1e-6)
    # a season: 0 0 0 20 20 20, weekly variance 120; three-week means 0, 20/3, 40/3, 20 vary
    # by 2000/27 > 120/3: v = 2000/27 + 120/6; z = 30 / sqrt(v)
    seasonal = rate_comparison(np.array([0.0, 0, 0, 20, 20, 20]), np.array([40.0, 40, 40]))
    assert seasonal.z == pytest.approx(30 / math.sqrt(2000 / 27 + 20))
    assert rate_comparison(np.array([5.0]), np.array([0.0])) == Comparison(0.0, 1.0)


def test_weekly_rate_interval() -> None:
    # 2, 4, 6: mean 4, variance 4 (not below the mean): 4 ± 1.96 * sqrt(4/3)
    found = weekly_rate(np.array([2.0, 4.0, 6.0]))
    assert (found.value, found.n) == (4.0, 12)
    assert (found.low, found.high) == pytest.approx((1.736829, 6.263171), abs=1e-6)
    assert weekly_rate(np.array([0.0, 0.0])) == Interval(0.0, 0.0, 0.0, 0)


def _created(monday: float, weeks: range, per_week: int) -> list[float]:
    return [monday + w * WEEK + DAY + d * 3600.0 for w in weeks for d in range(per_week)]


def test_new_deals_that_stop_are_found_with_the_week_they_stopped() -> None:
    monday = 4 * DAY + 2800 * WEEK
    # 10 a week for 26 weeks, none for 8; the week as_of falls in is not complete: not read
    created = np.array(_created(monday, range(26), 10) + _created(monday, range(34, 35), 5))
    found = created_drift(created, monday + 34 * WEEK + 3 * DAY)
    assert (found.window_start, found.window_end) == (monday, monday + 34 * WEEK)
    assert found.baseline == weekly_rate(np.full(26, 10.0))
    assert found.recent == Interval(0.0, 0.0, 0.0, 0)
    # weekly variance below the mean, no monthly swing: v = 10/8 + 10/26
    assert found.test is not None
    assert found.test.z == pytest.approx(-10 / math.sqrt(10 / 8 + 10 / 26))
    assert found.since == monday + 26 * WEEK
    assert found.before is not None and found.before.value == 10.0
    assert found.after is not None and found.after.value == 0.0


def test_weeks_before_the_first_deal_are_not_a_baseline_of_none() -> None:
    monday = 4 * DAY + 2800 * WEEK
    # the CRM used from week 10 on at 10 a week: 16 baseline weeks at 10, 8 recent at 10
    found = created_drift(np.array(_created(monday, range(10, 34), 10)), monday + 34 * WEEK)
    assert found.window_start == monday + 10 * WEEK
    assert found.baseline is not None and found.baseline.value == 10.0
    assert found.test is not None and found.test.z == 0.0
    # used from week 22 on: 4 baseline weeks, too few to know how the weeks swing
    young = created_drift(np.array(_created(monday, range(22, 34), 10)), monday + 34 * WEEK)
    assert young.test is None and young.since is None
    assert created_drift(np.array([]), monday).test is None
