"""Milestone value: the matched lift over comparable deals, open deals censored, on cases
worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.kpis.drift import DAY
from app.kpis.value import incidence, matched_lift, out_of_order, step_days

INF = math.inf
NAN = math.nan
NOW = 1000.0  # days: open deals are seen far past the horizon unless a case says otherwise


def _rows(*groups: tuple[float, ...], now: float = NOW) -> tuple[object, ...]:
    """(count, event day, until day, outcome[, close day]) groups, one stratum, every stay from
    day 0; a closed deal closes at its until day (day 30 when it never moved), an open one
    never. The last item is `now`, in seconds."""
    event, until, outcome, closed = [], [], [], []
    for count, at, end, result, *close in groups:
        shut = close[0] if close else (end if end < INF else 30.0)
        event += [at * DAY] * int(count)
        until += [end * DAY] * int(count)
        outcome += [int(result)] * int(count)
        closed += [INF if result == -1 else shut * DAY] * int(count)
    n = len(event)
    return (
        np.zeros(n, dtype=np.int64),
        np.zeros(n),
        np.array(until),
        np.array(event),
        np.array(outcome, dtype=np.int64),
        np.array(closed),
        now * DAY,
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
    # An event after the deal closed counts on neither side.
    lift = matched_lift(
        *_rows(
            (15, 1, 1, 1), (5, 1, 1, 0), (10, 10, 10, 1), (10, 10, 10, 0),
            (10, NAN, INF, 1), (30, NAN, INF, 0), (3, 3, 2, 0),
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


def test_open_deals_are_censored_not_left_out() -> None:
    # Seen up to day 31. Reached on day 1: 40 deals; 20 won on day 11, 8 lost on day 21, 12
    # still open. Comparable (never reached it): 40 deals; 10 won on day 5, 10 lost on day 15,
    # 20 still open. Aalen-Johansen, won by the horizon:
    #   reached:    day 10 after the event, 20 of 40 at risk win -> 0.5 (then 8 of 20 lose)
    #   comparable: day 5, 10 of 40 win -> 0.25 (then 10 of 30 lose)
    # Counting closed deals only would say 20/28 = 0.714 against 10/20 = 0.5.
    lift = matched_lift(
        *_rows(
            (20, 1, 11, 1), (8, 1, 21, 0), (12, 1, INF, -1),
            (10, NAN, 5, 1), (10, NAN, 15, 0), (20, NAN, INF, -1),
            now=31,
        )
    )  # fmt: skip
    assert lift is not None
    assert lift.reached.value == pytest.approx(0.5) and lift.reached.n == 40
    assert lift.comparable.value == pytest.approx(0.25) and lift.comparable.n == 40
    assert lift.difference == pytest.approx(0.25)
    # binomial over the deals whose state at the horizon is known: 28 and 20 closed
    se = math.sqrt(0.5 * 0.5 / 28 + 0.25 * 0.75 / 20)
    assert lift.low == pytest.approx(0.25 - 1.959964 * se, abs=1e-6)
    assert lift.test.z == pytest.approx(0.25 / se)


def test_deals_open_past_the_horizon_have_not_won_within_it() -> None:
    # The same deals seen up to day 1000: the open ones have stayed open past a year, so they
    # are known not to have won within it: 20/40 against 10/40, every state known.
    lift = matched_lift(
        *_rows(
            (20, 1, 11, 1), (8, 1, 21, 0), (12, 1, INF, -1),
            (10, NAN, 5, 1), (10, NAN, 15, 0), (20, NAN, INF, -1),
        )
    )  # fmt: skip
    assert lift is not None
    assert lift.reached.value == pytest.approx(0.5) and lift.comparable.value == pytest.approx(0.25)
    se = math.sqrt(0.5 * 0.5 / 40 + 0.25 * 0.75 / 40)
    assert lift.test.z == pytest.approx(0.25 / se)
    # a win later than the horizon after the landmark is not a win within it
    late = matched_lift(*_rows((20, 1, 1, 1, 400), (20, NAN, INF, 0), (20, NAN, INF, 1)))
    assert late is not None and late.reached.value == 0.0 and late.comparable.value == 0.5


def test_incidence_of_winning_with_ties_competing_losses_and_censoring() -> None:
    # Days after the landmark: won 1, lost 1, open 2, won 3, open 3, lost 4; horizon 3.5 days.
    # Day 1: 6 at risk, 1 wins -> 1/6, and 2 close -> still open 4/6. Day 3: 3 at risk (the
    # open one at 3 counts after the closes), 1 wins -> + 4/6 * 1/3. Known at the horizon:
    # the 3 closed by then and the one followed past it.
    follow = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 4.0]) * DAY
    outcome = np.array([1, 0, -1, 1, -1, 0])
    found = incidence(follow, outcome, 3.5 * DAY)
    assert found.chance == pytest.approx(1 / 6 + (4 / 6) * (1 / 3))  # 7/18
    assert (found.stays, found.known) == (6, 4)
    assert incidence(follow[:0], outcome[:0], DAY).chance == 0.0


def test_a_group_that_all_won_has_a_chance_of_one_not_more() -> None:
    # 1/n + (n-1)/n * 1/(n-1) + ... sums to a hair over 1 in floating point for some spreads;
    # the chance stays a probability (and its variance zero, not negative).
    rng = np.random.default_rng(0)
    for _ in range(300):
        follow = np.round(rng.random(int(rng.integers(1, 60))) * 50) * DAY
        found = incidence(follow, np.ones(follow.shape[0], dtype=np.int64), 365 * DAY)
        assert found.chance == pytest.approx(1.0) and found.chance <= 1.0


def test_slow_winners_are_not_lost_among_the_open_deals() -> None:
    """Deals arrive over 400 days; winners take months to close (mean 200 days), losers weeks
    (20). Seen at day 400, the deals still open are mostly future winners: counting closed
    deals only puts the win rates far too low. With them censored, both groups' chances of
    winning within a year come out near the truth, and so does the lift."""
    rng = np.random.default_rng(7)
    n, now = 3000, 400.0

    def group(win: float, reached: bool) -> tuple[np.ndarray, ...]:
        start = rng.uniform(0, now, n)
        landmark = start + (1.0 if reached else 0.0)
        won = rng.random(n) < win
        close = landmark + np.where(won, rng.exponential(200, n), rng.exponential(20, n))
        seen = close <= now
        return (
            start * DAY,
            np.where(seen, close, INF) * DAY,
            (landmark if reached else np.full(n, NAN)) * DAY,
            np.where(seen, won.astype(np.int64), -1),
            np.where(seen, close, INF) * DAY,
        )

    reached, comparable = group(0.6, True), group(0.3, False)
    start, until, event, outcome, closed = (
        np.concatenate(pair) for pair in zip(reached, comparable, strict=True)
    )
    lift = matched_lift(np.zeros(2 * n, dtype=np.int64), start, until, event, outcome, closed,
                        now * DAY)  # fmt: skip
    assert lift is not None
    within = 1 - math.exp(-365 / 200)  # winners who close within the year
    assert lift.reached.value == pytest.approx(0.6 * within, abs=0.04)
    assert lift.comparable.value == pytest.approx(0.3 * within, abs=0.04)
    assert lift.difference == pytest.approx(0.3 * within, abs=0.05)
    assert lift.low < 0.3 * within < lift.high
    closed_only = [float((o[o >= 0] == 1).mean()) for o in (reached[3], comparable[3])]
    # closed deals only: won / closed, far below the rates the deals actually win at
    assert closed_only[0] < 0.6 - 0.1 and closed_only[1] < 0.3 - 0.06, closed_only


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
