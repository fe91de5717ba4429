"""Velocity, stall thresholds, progress value and conversion, with the forecast's win
probability they build on, on four deals worked out by hand.

    A: created day 0, reached 1 on day 2, won on day 10         amount 1200
    B: created day 0, reached 1 on day 4, lost on day 6
    C: created day 0, no milestone, lost on day 3
    D: created day 0, reached 1 on day 1, still open on day 20 (as_of)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.kpis.conversion import WON_TARGET, conversion
from app.kpis.history import DealHistory
from app.kpis.model import fit_model
from app.kpis.progress import advances, progress_value
from app.kpis.winmodel import WinModel, fit_win_model_histories

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


DEALS = [
    DealHistory(1, 1, T0, ((1, day(2)),), "won", day(10), 1200.0),
    DealHistory(2, 1, T0, ((1, day(4)),), "lost", day(6), 500.0),
    DealHistory(3, 1, T0, (), "lost", day(3), 700.0),
    DealHistory(4, 1, T0, ((1, day(1)),), "open", None, 900.0),
]
AS_OF = day(20)


def win_model(deals: list[DealHistory]) -> WinModel:
    """The forecast's model on these deals alone: every deal alike, no borrowing."""
    return fit_win_model_histories(deals, AS_OF.timestamp(), None, prior_deals=0.0)


def test_stays_end_with_advances_closing_or_as_of() -> None:
    stays = list(DEALS[0].stays(AS_OF))
    assert [(s.position, s.start, s.end, s.ending) for s in stays] == [
        (0, T0, day(2), "advanced"),
        (1, day(2), day(10), "won"),
    ]
    assert [s.ending for s in DEALS[3].stays(AS_OF)] == ["advanced", "open"]
    assert DEALS[0].as_of(day(5)) == DealHistory(1, 1, T0, ((1, day(2)),), "open", None, 1200.0)


def test_win_probability_at_creation_by_hand() -> None:
    # From creation: C lost on 3 (F_lost .25), B lost on 6 (.5), A won on 10 (F_won .5 * 1/2)
    estimate = win_model(DEALS).win(1, 0)
    assert estimate.value == pytest.approx(0.25)
    assert (estimate.sample, estimate.source, estimate.landmark) == (4, "process", 0)


def test_win_probability_at_a_milestone_and_after_days_there() -> None:
    model = win_model(DEALS)
    # Day 0 at position 1: B lost 2 days in (F_lost 1/3), A won 8 days in (2/3 * 1/2)
    assert model.win(1, 1).value == pytest.approx(1 / 3)
    # 7 days in: only A (won 1 day later) and D (censored) were still there
    assert model.win(1, 1, days_at=7).value == pytest.approx(0.5)
    # 9 days in: only D, no win among what is left; open, so half a deal in two, not 0
    assert model.win(1, 1, days_at=9).value == pytest.approx(0.25)
    # Within the next 5 days, from day 0 at position 1: nothing (A won on day 8)
    assert model.win_between(1, 1, 0.0, 0.0, 5.0) == pytest.approx(0.0)
    assert model.win_between(1, 1, 0.0, 5.0, 10.0) == pytest.approx(1 / 3)


def test_velocity_counts_only_deals_that_advance_with_open_ones_censored() -> None:
    model = fit_model(DEALS, AS_OF, min_sample=1)
    # Leaving position 0: D advances on 1, A on 2, C closes on 3, B advances on 4.
    # F_adv: .25, .5, (.5), .75; among advancers (plateau .75) the median needs .375 -> day 2,
    # the 80th percentile needs .6 -> day 4.
    velocity = model.velocity(1, 0)
    assert (velocity.median_days, velocity.p80_days) == (2.0, 4.0)
    assert (velocity.advanced, velocity.closed, velocity.censored) == (3, 1, 0)
    # Position 1: D is still there (censored); A and B closed without a further milestone.
    assert model.velocity(1, 1).median_days is None
    assert model.velocity(1, 1).censored == 1


def test_stall_threshold_is_the_80th_percentile_of_leaving() -> None:
    model = fit_model(DEALS, AS_OF, min_sample=1)
    # Leaving position 0 at days 1, 2, 3, 4: 1 - S reaches 0.8 only on day 4.
    assert model.stall_threshold(1, 0) == 4.0
    # Position 1: B leaves after 2 days, A after 8, D censored at 19: S = 2/3, 1/3 -> never 0.8
    assert model.stall_threshold(1, 1) is None


def test_progress_value_is_the_gain_in_win_probability_times_amount() -> None:
    model = win_model(DEALS)
    deal = DEALS[0]
    assert advances(deal, T0, day(30))[0].position == 1
    assert advances(deal, day(3), day(30)) == []
    # (P(win | 1) - P(win | 0)) * 1200 = (1/3 - 1/4) * 1200
    assert progress_value(deal, model, T0, day(30)) == pytest.approx(100.0)


def test_win_on_arrival_is_non_decreasing_along_the_process_and_pools_violators() -> None:
    # 8 deals: K, L lost at creation; of the 6 reaching 1, E and G won (P(1) = 2/6); of the 4
    # reaching 2, only G won (P(2) = 1/4); at creation 2 of 8 won (P(0) = 1/4). Raw, a step
    # 1 -> 2 would lower the deal's chance.
    deals = [
        DealHistory(5, 1, T0, ((1, day(1)),), "won", day(5), 100.0),
        DealHistory(6, 1, T0, ((1, day(1)),), "lost", day(5), 100.0),
        DealHistory(7, 1, T0, ((1, day(1)), (2, day(2))), "won", day(5), 100.0),
        *(
            DealHistory(n, 1, T0, ((1, day(1)), (2, day(2))), "lost", day(5), 100.0)
            for n in (8, 9, 10)
        ),
        *(DealHistory(n, 1, T0, (), "lost", day(3), 100.0) for n in (11, 12)),
    ]
    model = win_model(deals)
    raw = [model.win(1, p).value for p in (0, 1, 2)]
    assert raw == pytest.approx([1 / 4, 1 / 3, 1 / 4])
    # 1 and 2 pool, weighted by their samples (6 deals arrived at 1, 4 at 2): 0.3
    fitted = [model.arrival_win(1, p).value for p in (0, 1, 2)]
    assert fitted == pytest.approx([1 / 4, 0.3, 0.3])
    stepped = DealHistory(13, 1, T0, ((1, day(1)), (2, day(3))), "open", None, 1000.0)
    assert progress_value(stepped, model, day(2), day(4)) == pytest.approx(0.0)
    assert progress_value(stepped, model, T0, day(4)) == pytest.approx((0.3 - 0.25) * 1000)


def test_win_on_arrival_keeps_a_history_that_is_already_monotone() -> None:
    model = win_model(DEALS)
    assert model.arrival_win(1, 0).value == pytest.approx(model.win(1, 0).value)
    assert model.arrival_win(1, 1).value == pytest.approx(model.win(1, 1).value)
    # a milestone the process never reached takes the one below it, with its evidence
    assert model.arrival_win(1, 4) == model.arrival_win(1, 1)


def test_a_step_below_the_highest_reached_is_not_an_advance() -> None:
    deal = DealHistory(9, 1, T0, ((2, day(1)), (1, day(2)), (3, day(3))), "open", None, 10.0)
    steps = advances(deal, T0, day(10))
    assert [(s.position, s.previous) for s in steps] == [(2, 0), (3, 2)]


def test_conversion_censors_open_deals() -> None:
    # Reached 1: A (won), B (lost), D (open, censored). Conversion 1 -> won:
    # B fails 2 days in (F_fail 1/3), A wins 8 days in (2/3 * 1/2 = 1/3), D censored.
    result = conversion(DEALS, 1, WON_TARGET, AS_OF)
    assert result.estimate == pytest.approx(1 / 3)
    assert (result.reached, result.converted, result.failed, result.censored) == (3, 1, 1, 1)
    # 0 -> 1: D on 1, A on 2, C fails on 3, B on 4 -> 3 of 4
    assert conversion(DEALS, 0, 1, AS_OF).estimate == pytest.approx(0.75)
    assert conversion([], 1, 2, AS_OF).estimate is None
