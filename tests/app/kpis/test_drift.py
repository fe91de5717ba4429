"""The drift statistics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.kpis.drift import (
    DAY,
    WEEK,
    benjamini_hochberg,
    horizon_days,
    median_interval,
    normal_sf,
    rank_sum,
    step_drift,
    two_proportions,
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
