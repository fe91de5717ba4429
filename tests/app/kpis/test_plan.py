"""The funnel run backwards: required arrivals per milestone and week, by hand and by brute
force, and the plan's tracking."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from app.kpis.columns import DealColumns
from app.kpis.history import DealHistory
from app.kpis.plan import (
    PlanWeek,
    arrival_chances,
    binomial_head,
    open_wins,
    plan_weeks,
    reach_chance,
    required_by,
    requirement,
    schedule,
    tail_chances,
    units_for,
)
from app.kpis.plan_columns import make_plan, track
from app.kpis.winmodel import WinModel, fit_win_model_histories

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
END = MONDAY + timedelta(days=28)
REPLY, MEETING = 1, 2


def fit_model(deals: list[DealHistory], as_of: datetime) -> WinModel:
    """The forecast's model on these deals alone: every deal alike, no borrowing."""
    return fit_win_model_histories(deals, as_of.timestamp(), None, prior_deals=0.0)


def two_milestone_model() -> WinModel:
    """Reply: half the deals that reply are won exactly 14 days later, the others lost then.
    Meeting: 80 % are won exactly 7 days after it, 20 % lost then."""
    deals = []
    base = MONDAY - timedelta(days=200)
    for i in range(60):
        replied = base + timedelta(days=i)
        outcome = "won" if i % 2 == 0 else "lost"
        deals.append(
            DealHistory(i, 1, replied, ((REPLY, replied),), outcome, replied + timedelta(days=14))
        )
    for i in range(50):
        met = base + timedelta(days=i)
        outcome = "won" if i % 5 else "lost"
        deals.append(
            DealHistory(100 + i, 1, met, ((MEETING, met),), outcome, met + timedelta(days=7))
        )
    return fit_model(deals, MONDAY)


def test_weeks_are_calendar_weeks_cut_to_the_plan() -> None:
    start = datetime(2026, 4, 1, tzinfo=UTC)  # a Wednesday
    since = datetime(2026, 4, 8, 12, tzinfo=UTC)
    weeks = plan_weeks(start, datetime(2026, 5, 1, tzinfo=UTC), since)
    assert [w.week.date().isoformat() for w in weeks] == [
        "2026-04-06",
        "2026-04-13",
        "2026-04-20",
        "2026-04-27",
    ]
    assert weeks[0].start == since and weeks[0].days == pytest.approx(4.5)
    assert weeks[-1].end == datetime(2026, 5, 1, tzinfo=UTC) and weeks[-1].days == 4
    early = plan_weeks(start, datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 3, 25, tzinfo=UTC))
    assert early[0].start == datetime(2026, 3, 25, tzinfo=UTC)  # movement before the period


def test_arrival_chances_from_the_fitted_curves() -> None:
    model = two_milestone_model()
    weeks = plan_weeks(MONDAY, END, MONDAY)
    # a reply on day d (middle: d + 0.5) wins by day 28 when 28 - d - 0.5 >= 14: d <= 13
    assert arrival_chances(model, 1, REPLY, weeks, MONDAY, END) == pytest.approx(
        [0.5, 0.5, 0.0, 0.0]
    )
    assert arrival_chances(model, 1, MEETING, weeks, MONDAY, END) == pytest.approx(
        [0.8, 0.8, 0.8, 0.0]
    )
    # arrivals before the period: a win before it starts does not count
    before = plan_weeks(MONDAY, END, MONDAY - timedelta(days=14))
    assert arrival_chances(model, 1, MEETING, before, MONDAY, END)[0] == pytest.approx(0.0)


def test_the_two_milestone_process_gives_the_exact_required_counts() -> None:
    model = two_milestone_model()
    weeks = plan_weeks(MONDAY, END, MONDAY)
    days = [w.days for w in weeks]
    tail = tail_chances(open_wins(np.zeros(0), np.zeros(0, dtype=np.int64), 3))
    replies = arrival_chances(model, 1, REPLY, weeks, MONDAY, END)
    meetings = arrival_chances(model, 1, MEETING, weeks, MONDAY, END)
    # 3 wins from replies won w.p. 1/2: P(Bin(4, .5) >= 3) = 5/16, P(Bin(5, .5) >= 3) = 1/2
    half = requirement(tail, 3, 1, replies, days, 0.5)
    assert half is not None and (half.total, half.counts) == (5, (3, 2, 0, 0))
    assert half.chance == pytest.approx(0.5)
    # P(Bin(7, .5) >= 3) = 99/128 < .8 <= P(Bin(8, .5) >= 3) = 219/256
    most = requirement(tail, 3, 1, replies, days, 0.8)
    assert most is not None and (most.total, most.counts) == (8, (4, 4, 0, 0))
    assert most.chance == pytest.approx(219 / 256)
    # meetings won w.p. .8: P(Bin(3, .8) = 3) = .512; P(Bin(4, .8) >= 3) = .8192
    half = requirement(tail, 3, 1, meetings, days, 0.5)
    assert half is not None and (half.total, half.counts) == (3, (1, 1, 1, 0))
    assert half.chance == pytest.approx(0.512)
    most = requirement(tail, 3, 1, meetings, days, 0.8)
    assert most is not None and (most.total, most.counts) == (4, (1, 2, 1, 0))
    assert most.chance == pytest.approx(0.8192)


def test_open_deals_count_toward_the_target() -> None:
    # one open deal won w.p. .5 inside the period; 3 wins needed; meetings won w.p. .8:
    # N = 2: .5 * P(Bin(2,.8) >= 2) = .32;  N = 3: .5 * P(Bin(3,.8) >= 2) + .5 * .512 = .704
    tail = tail_chances(open_wins(np.array([0.5]), np.array([1]), 3))
    found = requirement(tail, 3, 1, [0.8, 0.8, 0.8, 0.0], [7.0] * 4, 0.5)
    assert found is not None and found.total == 3 and found.chance == pytest.approx(0.704)
    # with enough open deals, no new movement is needed
    sure = tail_chances(open_wins(np.full(10, 0.9), np.ones(10, dtype=np.int64), 3))
    none_needed = requirement(sure, 3, 1, [0.8] * 4, [7.0] * 4, 0.8)
    assert none_needed is not None and none_needed.total == 0 and none_needed.chance > 0.99


def test_no_week_left_for_a_milestone_means_no_requirement() -> None:
    tail = tail_chances(open_wins(np.zeros(0), np.zeros(0, dtype=np.int64), 2))
    assert requirement(tail, 2, 1, [0.0, 0.0], [7.0, 7.0], 0.5) is None
    assert requirement(tail, 2, 1, [1e-9, 0.0], [7.0, 7.0], 0.5, limit=1000) is None


def _brute_force(
    chances: list[float], weights: list[int], new: list[tuple[float, int]], unit: int, need: int
) -> float:
    """P(Σ won weights + unit * new wins >= need) by enumerating every outcome."""
    trials = [(p, w) for p, w in zip(chances, weights, strict=True)]
    trials += [(q, unit) for q, n in new for _ in range(n)]
    total = 0.0
    for outcome in itertools.product((0, 1), repeat=len(trials)):
        p = math.prod(q if won else 1 - q for won, (q, _) in zip(outcome, trials, strict=True))
        if sum(w for won, (_, w) in zip(outcome, trials, strict=True) if won) >= need:
            total += p
    return total


@pytest.mark.parametrize("need", [1, 4, 7])
def test_reach_chance_is_exact(need: int) -> None:
    chances, weights = [0.3, 0.6, 0.25], [2, 1, 3]
    new = [(0.4, 3), (0.2, 2), (0.0, 4)]
    tail = tail_chances(open_wins(np.array(chances), np.array(weights), need))
    got = reach_chance(tail, need, 2, [q for q, _ in new], [n for _, n in new])
    assert got == pytest.approx(_brute_force(chances, weights, new, 2, need), abs=1e-12)


def test_binomial_head_large_and_small() -> None:
    assert binomial_head(5, 0.3, 10) == pytest.approx(
        [math.comb(5, k) * 0.3**k * 0.7 ** (5 - k) for k in range(6)] + [0.0] * 4
    )
    big = binomial_head(100_000, 0.3, 40_000)
    assert big.sum() == pytest.approx(1.0) and big.argmax() == 30_000
    assert list(binomial_head(3, 1.0, 5)) == [0, 0, 0, 1, 0]


def test_long_convolutions_go_through_the_fft_and_agree() -> None:
    q, n = [0.3, 0.5, 0.1], [400, 300, 900]
    nothing_open = tail_chances(np.zeros(0))
    full = np.array([1.0])
    for count, p in zip(n, q, strict=True):  # the whole distribution, convolved directly
        full = np.convolve(full, binomial_head(count, p, count + 1))
    for need in (300, 350, 600):  # 300 wins and more: longer than the direct threshold
        tail = tail_chances(np.zeros(need) + np.eye(1, need).ravel())
        assert reach_chance(tail, need, 1, q, n) == pytest.approx(full[need:].sum(), abs=1e-9)
    assert reach_chance(nothing_open, 0, 1, q, n) == 1.0


def test_schedule_is_a_steady_pace_over_the_weeks_that_count() -> None:
    assert schedule(10, [7, 7, 7, 7], [0.5, 0.5, 0.1, 0.0]) == [3, 4, 3, 0]
    assert schedule(7, [3.5, 7, 7], [0.2, 0.2, 0.2]) == [1, 3, 3]
    assert sum(schedule(13, [2, 7, 7, 7, 5], [1, 1, 1, 1, 1])) == 13
    assert schedule(5, [7, 7], [0.0, 0.0]) == [0, 0]


def test_required_by_prorates_the_current_week() -> None:
    weeks = [
        PlanWeek(MONDAY, MONDAY, MONDAY + timedelta(days=7)),
        PlanWeek(MONDAY + timedelta(days=7), MONDAY + timedelta(days=7), END),
    ]
    assert required_by([4, 6], weeks, MONDAY) == 0
    assert required_by([4, 6], weeks, MONDAY + timedelta(days=7)) == 4
    assert required_by([4, 6], weeks, MONDAY + timedelta(days=10.5)) == pytest.approx(5.0)
    assert required_by([4, 6], weeks, END + timedelta(days=1)) == 10


def test_units_count_amounts_in_slices_of_a_typical_win() -> None:
    units = units_for(100_000, 20_000, 5_000)
    assert (units.needed, units.per_win) == (20, 4)
    assert units_for(0, 20_000, 5_000).needed == 0


def test_a_plan_over_columns_and_how_it_is_tracked() -> None:
    model = two_milestone_model()
    deals = [
        # open at a reply for 3 days when the plan is made: won w.p. .5 by day 11 of the period
        DealHistory(1, 1, MONDAY - timedelta(days=10), ((REPLY, MONDAY - timedelta(days=3)),)),
        # won before the period: it does not count
        DealHistory(2, 1, MONDAY - timedelta(days=30), (), "won", MONDAY - timedelta(days=1), 9.0),
        # replies during the period, then a meeting
        DealHistory(3, 1, MONDAY + timedelta(hours=1), ((REPLY, MONDAY + timedelta(days=1)),)),
        DealHistory(
            4,
            1,
            MONDAY + timedelta(hours=1),
            ((REPLY, MONDAY + timedelta(days=2)), (MEETING, MONDAY + timedelta(days=9))),
        ),
    ]
    cols = DealColumns.from_histories(deals, positions=3)
    every = np.ones(len(cols), dtype=bool)
    made = make_plan(cols, every, every, model, 1, [1, 2], "deals", 3, MONDAY, END, MONDAY)
    assert made.won == 0 and made.open_expected == pytest.approx(0.5)
    assert made.gap == pytest.approx(2.5) and made.wins_needed == 3
    replies, meetings = made.rows
    assert replies.open_expected == pytest.approx(0.5) and meetings.open_expected == 0
    assert replies.chances == pytest.approx((0.5, 0.5, 0.0, 0.0))
    # with the open deal: P(open + Bin(N, .5) >= 3) >= .5 first at N = 4 (.5*11/16 + .5*5/16)
    half = replies.requirements[0.5]
    assert half is not None and (half.total, half.counts) == (4, (2, 2, 0, 0))
    assert half.chance == pytest.approx(0.5)
    # ten days in: 2 replies and 1 meeting made; the plan asked 2 + 2 * 3/7 replies by then
    tracked = track(made, cols, every, MONDAY + timedelta(days=10))
    reply_row, meeting_row = tracked.rows
    assert (reply_row.actual, reply_row.required[0.5], reply_row.status) == (2, 2, "on_track")
    assert reply_row.needed_this_week == 2 and reply_row.behind_by == 0
    assert meeting_row.actual == 1
    assert tracked.week is not None and tracked.week.week == MONDAY + timedelta(days=7)


def test_a_milestone_that_is_the_win_itself_wins_at_once() -> None:
    signed = [
        DealHistory(i, 1, MONDAY - timedelta(days=90 + i), ((3, MONDAY - timedelta(days=60 + i)),),
                    "won", MONDAY - timedelta(days=60 + i))
        for i in range(40)
    ]  # fmt: skip
    weeks = plan_weeks(MONDAY, END, MONDAY)
    assert arrival_chances(fit_model(signed, MONDAY), 1, 3, weeks, MONDAY, END) == [1.0] * 4


@pytest.mark.parametrize("seed", range(12))
def test_the_search_finds_the_fewest_arrivals(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weeks = int(rng.integers(1, 14))
    chances = sorted(rng.uniform(0.0, 0.6, weeks).tolist(), reverse=True)
    chances[-1] = 0.0 if rng.random() < 0.5 else chances[-1]  # the last week often too late
    days = [7.0] * weeks
    days[0] = float(rng.uniform(0.5, 7.0))
    needed, unit = int(rng.integers(1, 60)), int(rng.integers(1, 5))
    opened = rng.uniform(0.0, 0.9, int(rng.integers(0, 30)))
    tail = tail_chances(open_wins(opened, rng.integers(1, 4, opened.shape[0]), needed))
    for confidence in (0.5, 0.8):
        found = requirement(tail, needed, unit, chances, days, confidence)
        assert found is not None and found.chance >= confidence - 1e-9
        first = next(
            n
            for n in range(found.total + 1)
            if reach_chance(tail, needed, unit, chances, schedule(n, days, chances))
            >= confidence - 1e-9
        )
        assert found.total == first, (found, first)
