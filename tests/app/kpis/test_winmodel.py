"""The forecast's model, piece by piece, on cases worked out by hand: recency weights,
weighted Aalen-Johansen, shrinkage, no certainty for an open deal, exact landmarks, deal
size, the skewed band and the creation rate of a lead flow that stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from app.kpis.arrivals import creation_rates, dispersion
from app.kpis.band import band, gamma_quantile
from app.kpis.curves import DailyCurve, daily_incidence, never_certain, shrink
from app.kpis.forecast import probability_moments
from app.kpis.history import DealHistory
from app.kpis.incidence import CENSORED, LOST, WON
from app.kpis.recency import effective_size, recency_weights
from app.kpis.size import size_effect
from app.kpis.winmodel import fit_win_model_histories, grid_point

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


# -- recency --------------------------------------------------------------------------------------


def test_a_deal_a_half_life_old_counts_half() -> None:
    ages = np.array([0.0, 365.0, 730.0])
    assert recency_weights(ages, 365.0).tolist() == pytest.approx([1.0, 0.5, 0.25])
    assert recency_weights(ages, None).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        recency_weights(ages, 0.0)


def test_weighting_costs_evidence() -> None:
    assert effective_size(np.ones(4)) == pytest.approx(4.0)
    assert effective_size(np.array([1.0, 0.0])) == pytest.approx(1.0)
    # (1 + 0.5 + 0.25)^2 / (1 + 0.25 + 0.0625) = 3.0625 / 1.3125
    assert effective_size(np.array([1.0, 0.5, 0.25])) == pytest.approx(7 / 3)


# -- curves ---------------------------------------------------------------------------------------

DURATIONS = np.array([3.0, 5.0, 8.0, 10.0])
CAUSES = np.array([LOST, WON, CENSORED, WON])


def test_equal_weights_give_aalen_johansen() -> None:
    # Lost on 3 (S = 3/4); won on 5 (F = 3/4 * 1/3 = 1/4, S = 1/2); censored on 8;
    # won on 10 by the one left (F = 1/4 + 1/2).
    curve = daily_incidence(DURATIONS, CAUSES, np.ones(4))
    assert curve is not None
    assert [float(curve.won_by(t)) for t in (4.0, 5.0, 9.9, 10.0)] == pytest.approx(
        [0.0, 0.25, 0.25, 0.75]
    )
    assert float(curve.alive(6.0)) == pytest.approx(0.5)
    assert curve.deals == 4 and curve.effective == pytest.approx(4.0)


def test_a_weighted_deal_counts_its_weight_in_the_risk_set_and_its_outcome() -> None:
    # Weights 1, 1, 1, 3 (total 6): lost on 3 (S = 5/6); won on 5 with 5 at risk
    # (F = 5/6 * 1/5 = 1/6, S = 2/3); the last, weight 3 of 3 at risk, won on 10.
    curve = daily_incidence(DURATIONS, CAUSES, np.array([1.0, 1.0, 1.0, 3.0]))
    assert curve is not None
    assert float(curve.won_by(5.0)) == pytest.approx(1 / 6)
    assert float(curve.won_by(10.0)) == pytest.approx(5 / 6)


def _flat(won: float, deals: int, effective: float) -> DailyCurve:
    curve = daily_incidence(np.array([1.0]), np.array([WON]), np.ones(1))
    assert curve is not None
    return DailyCurve(curve.won * won, 1.0 - curve.won * won, deals, effective)


def test_shrinkage_weighs_a_cell_by_its_evidence_against_the_prior() -> None:
    own, parent = _flat(1.0, 10, 10.0), _flat(0.2, 500, 500.0)
    mixed = shrink(own, parent, prior_deals=10.0)
    assert mixed is not None
    assert float(mixed.eventual(0.0)) == pytest.approx(0.6)  # half its own, half the parent
    assert mixed.deals == 10  # what the cell itself rests on
    rich = shrink(_flat(1.0, 990, 990.0), parent, prior_deals=10.0)
    assert rich is not None and float(rich.eventual(0.0)) == pytest.approx(0.992)
    assert shrink(None, parent, 10.0) is parent
    assert shrink(own, None, 10.0) is own


def test_an_open_deal_is_never_certain() -> None:
    assert never_certain(0.0, 9) == pytest.approx(0.05)  # half a deal in ten
    assert never_certain(1.0, 9) == pytest.approx(0.95)
    assert never_certain(0.3, 9) == pytest.approx(0.3)
    assert never_certain(0.0, 0) == pytest.approx(0.5)  # no history: no idea either way


# -- the model ------------------------------------------------------------------------------------


def _movers_and_waiters() -> list[DealHistory]:
    """Four deals reach milestone 1 on day 0. Two move on to 2 on day 3 and are won on day
    20; two wait at 1 and are lost on day 20. A fifth reached 1 on day 0 and is still open."""
    movers = [DealHistory(k, 1, T0, ((1, T0), (2, day(3))), "won", day(20), 100.0) for k in (1, 2)]
    waiters = [DealHistory(k, 1, T0, ((1, T0),), "lost", day(20), 100.0) for k in (3, 4)]
    return [*movers, *waiters, DealHistory(5, 1, T0, ((1, T0),), "open", None, 100.0)]


def _fit(deals: list[DealHistory], as_of: datetime, prior: float = 0.0):  # type: ignore[no-untyped-def]
    return fit_win_model_histories(deals, as_of.timestamp(), None, prior_deals=prior)


def test_a_deal_still_waiting_is_compared_with_deals_still_waiting() -> None:
    model = _fit(_movers_and_waiters(), day(30))
    # On arrival: on day 20, 2 of the 5 at risk won and 2 lost (the open one, censored on
    # day 30, was still at risk then): 2/5.
    assert model.win(1, 1, 0.0).value == pytest.approx(0.4)
    # Still at 1 after 7 days: only the two waiters (lost) and the open deal were; no win
    # among them, so the least it can be is half a deal in four.
    seven = model.win(1, 1, 7.0)
    assert (seven.value, seven.sample, seven.landmark) == (pytest.approx(0.125), 3, 7)
    assert grid_point(7.4) == 7 and grid_point(40.0) == 39 and grid_point(400.0) == 395


def test_a_thin_process_borrows_from_every_process_at_that_milestone() -> None:
    other = [DealHistory(10, 2, T0, ((1, T0),), "lost", day(20), 100.0)]
    model = _fit(_movers_and_waiters() + other, day(30), prior=10.0)
    parent = model.cell(None, 1, 0)
    assert parent is not None
    pooled = float(parent.eventual(0.0))
    # Process 2 has one deal (lost): 1 / 11 its own 0, 10 / 11 the pooled estimate.
    assert model.win(2, 1).value == pytest.approx(pooled * 10 / 11)
    assert model.win(2, 1).sample == 1


def test_larger_deals_move_by_their_size_class() -> None:
    # One position, 4 closed stays: small (1) won twice, large (100) won once and lost once.
    # Share won 3/4; small: 2 observed over 1.5 expected, large: 1 over 1.5.
    effect = size_effect(
        np.array([1.0, 1.0, 100.0, 100.0]),
        np.zeros(4, dtype=np.int64),
        np.array([True, True, True, False]),
        np.ones(4, dtype=bool),
        np.ones(4),
        classes=2,
        prior_wins=0.0,
    )
    assert effect.factor(np.array([1.0, 100.0])).tolist() == pytest.approx([4 / 3, 2 / 3])
    shrunk = size_effect(
        np.array([1.0, 1.0, 100.0, 100.0]),
        np.zeros(4, dtype=np.int64),
        np.array([True, True, True, False]),
        np.ones(4, dtype=bool),
        np.ones(4),
        classes=2,
        prior_wins=1.5,
    )
    assert shrunk.factor(np.array([100.0])).tolist() == pytest.approx([2.5 / 3])


# -- the band -------------------------------------------------------------------------------------


def test_the_band_is_skewed_like_a_sum_of_wins_and_normal_when_large() -> None:
    assert band(500.0, 0.0) == (500.0, 500.0)
    assert band(0.0, 10.0) == (0.0, 0.0)
    low, high = band(100.0, 10_000.0)  # sd as large as the mean
    assert 0.0 <= low < 100.0 < high and high - 100.0 > 100.0 - low
    assert gamma_quantile(1000.0, 100.0, 0.9) == pytest.approx(1000.0 + 1.2816 * 10.0, abs=0.2)
    assert gamma_quantile(1000.0, 100.0, 0.1) == pytest.approx(1000.0 - 1.2816 * 10.0, abs=0.2)


def test_the_band_holds_the_actual_eight_times_in_ten_on_a_known_process() -> None:
    rng = np.random.default_rng(7)
    amount = rng.lognormal(9.0, 1.0, 200)
    p = rng.uniform(0.02, 0.4, 200)[:, None]
    moments = probability_moments([(amount, p, np.array([1e12]))], 1)
    low, high = band(float(moments.mean[0]), float(moments.var_amount[0]))
    actual = (rng.random((4000, 200)) < p[:, 0]) @ amount
    inside = float(np.mean((actual >= low) & (actual <= high)))
    assert 0.77 <= inside <= 0.83


# -- new pipeline ---------------------------------------------------------------------------------


def _created_daily(first: int, last: int) -> list[DealHistory]:
    return [DealHistory(k, 1, day(k + 0.5), (), amount=10.0) for k in range(first, last)]


def test_a_lead_flow_that_stops_loses_three_quarters_of_its_rate_in_six_weeks() -> None:
    steady = creation_rates(_created_daily(0, 200), day(200))[0]
    assert steady.per_day == pytest.approx(1.0, abs=0.05)
    stopped = creation_rates(_created_daily(0, 158), day(200))[0]  # nothing in 42 days
    assert stopped.per_day == pytest.approx(0.25, abs=0.03)
    assert steady.mean_amount == 10.0


def test_arrivals_noisier_than_poisson_say_how_much() -> None:
    assert dispersion([5, 5, 5, 5]) == 1.0  # never below a Poisson stream
    # successive differences 10, 10, 10: 300 / (2 * 3) = 50, over the mean 5
    assert dispersion([0, 10, 0, 10]) == pytest.approx(10.0)
    assert dispersion([3, 4]) == 1.0
