"""Milestone value: the matched lift over comparable deals, on cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.kpis.drift import DAY
from app.kpis.value import matched_lift, out_of_order, step_days

INF = math.inf
NAN = math.nan


def _rows(*groups: tuple[int, float, float, int]) -> tuple[np.ndarray, ...]:
    """(count, event day, until day, outcome) groups, one stratum, every stay from day 0."""
    event, until, outcome = [], [], []
    for count, at, end, result in groups:
        event += [at * DAY] * count
        until += [end * DAY] * count
        outcome += [result] * count
    n = len(event)
    return (
        np.zeros(n, dtype=np.int64),
        np.zeros(n),
        np.array(until),
        np.array(event),
        np.array(outcome, dtype=np.int64),
    )


def test_one_band_compares_with_every_deal_still_there() -> None:
    # 20 reached it on day 1 (15 won); 40 never did (10 won): 0.75 against 0.25.
    lift = matched_lift(*_rows((15, 1, 1, 1), (5, 1, 1, 0), (10, NAN, INF, 1), (30, NAN, INF, 0)))
    assert lift is not None
    assert lift.reached.value == 0.75 and lift.reached.n == 20
    assert lift.comparable.value == 0.25 and lift.comparable.n == 40
    assert lift.difference == pytest.approx(0.5)
    se = math.sqrt(0.75 * 0.25 / 20 + 0.25 * 0.75 / 40)  # 0.118585
    assert lift.low == pytest.approx(0.5 - 1.959964 * se, abs=1e-6)
    assert lift.test.z == pytest.approx(0.5 / se)
    assert lift.ratio == pytest.approx(3.0)


def test_bands_weigh_the_comparison_like_the_deals_that_reached_it() -> None:
    # Band 0-7 days: 20 reached on day 1 (15 won). Band 7-14: 20 on day 10 (10 won); in band
    # 0-7 those were not there yet, so they are comparable there: 40 + 20 deals, 10 + 10 won.
    # Open deals, and an event after the deal closed, count on neither side.
    lift = matched_lift(
        *_rows(
            (15, 1, 1, 1), (5, 1, 1, 0), (10, 10, 10, 1), (10, 10, 10, 0),
            (10, NAN, INF, 1), (30, NAN, INF, 0), (7, 2, 2, -1), (3, 3, 2, 0),
        )
    )  # fmt: skip
    assert lift is not None
    assert lift.reached.value == pytest.approx(0.625) and lift.reached.n == 40
    assert lift.comparable.value == pytest.approx(0.5 / 3 + 0.125)  # 0.2917
    assert lift.comparable.n == 60 + 40
    variance = 0.25 * (0.75 * 0.25 / 20 + (1 / 3) * (2 / 3) / 60) + 0.25 * (
        0.5 * 0.5 / 20 + 0.25 * 0.75 / 40
    )
    assert lift.difference == pytest.approx(1 / 3)
    assert lift.high - lift.difference == pytest.approx(1.959964 * math.sqrt(variance), abs=1e-6)


def test_too_few_deals_on_either_side_is_no_answer() -> None:
    assert matched_lift(*_rows((19, 1, 1, 1), (40, NAN, INF, 0))) is None
    assert matched_lift(*_rows((30, 1, 1, 1), (19, NAN, INF, 0))) is None


def test_no_difference_is_no_lift() -> None:
    lift = matched_lift(*_rows((10, 1, 1, 1), (10, 1, 1, 0), (20, NAN, INF, 1), (20, NAN, INF, 0)))
    assert lift is not None and lift.difference == 0 and lift.test.p_value == 1.0


def test_days_a_step_adds_and_milestones_reached_out_of_order() -> None:
    start = np.array([0.0, 0.0, 0.0, NAN]) * DAY
    event = np.array([2.0, 4.0, NAN, 1.0]) * DAY
    assert step_days(start, event).value == 3.0 and step_days(start, event).n == 2
    reach = np.array([[0, 1, 2], [0, 3, 2], [0, NAN, 1], [0, 1, NAN]], dtype=float)
    assert out_of_order(reach, 1) == (3, 1)
    assert out_of_order(reach, 2) == (3, 0)
