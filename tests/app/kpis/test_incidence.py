"""Aalen-Johansen and Kaplan-Meier on small cases worked out by hand."""

from __future__ import annotations

import pytest

from app.kpis.incidence import CENSORED, LOST, WON, aalen_johansen, kaplan_meier

# n=5. t=1: a win, 5 at risk      -> F_won = 1/5 = 0.2,          S = 0.8
#      t=2: a loss and a censoring -> F_lost = 0.8 * 1/4 = 0.2,  S = 0.8 * 3/4 = 0.6
#      t=3: a win, 2 at risk       -> F_won = 0.2 + 0.6/2 = 0.5, S = 0.3
#      t=4: censored
SAMPLE = [(1.0, WON), (2.0, LOST), (2.0, CENSORED), (3.0, WON), (4.0, CENSORED)]


def test_cumulative_incidence_by_hand() -> None:
    curve = aalen_johansen(SAMPLE)
    assert curve.times == (1.0, 2.0, 3.0)
    assert curve.incidences[WON] == pytest.approx((0.2, 0.2, 0.5))
    assert curve.incidences[LOST] == pytest.approx((0.0, 0.2, 0.2))
    assert curve.survival == pytest.approx((0.8, 0.6, 0.3))
    assert curve.size == 5 and curve.counts == {WON: 2, LOST: 1, CENSORED: 2}


def test_step_functions_are_right_continuous() -> None:
    curve = aalen_johansen(SAMPLE)
    assert curve.incidence(WON, 0.999) == 0.0
    assert curve.incidence(WON, 1.0) == pytest.approx(0.2)
    assert curve.incidence(WON, 2.5) == pytest.approx(0.2)
    assert curve.incidence(WON, 100.0) == pytest.approx(0.5)
    assert curve.survival_at(0.0) == 1.0
    assert curve.eventual(LOST) == pytest.approx(0.2)


def test_conditional_probability_given_no_outcome_yet() -> None:
    curve = aalen_johansen(SAMPLE)
    # P(won in (1.5, 3.5] | nothing by 1.5) = (0.5 - 0.2) / 0.8
    assert curve.conditional(WON, 1.5, 2.0) == pytest.approx(0.375)


def test_quantiles_overall_and_among_those_with_the_outcome() -> None:
    curve = aalen_johansen(SAMPLE)
    assert curve.quantile(WON, 0.2) == 1.0
    assert curve.quantile(WON, 0.6) is None  # never reaches 0.6
    # among winners (plateau 0.5): the median needs F >= 0.25 -> t = 3
    assert curve.quantile(WON, 0.5, among_cause=True) == 3.0


def test_without_censoring_it_is_the_empirical_share() -> None:
    data = [(1.0, WON), (2.0, LOST), (3.0, LOST), (4.0, WON), (4.0, WON)]
    curve = aalen_johansen(data)
    assert curve.eventual(WON) == pytest.approx(3 / 5)
    assert curve.eventual(LOST) == pytest.approx(2 / 5)
    assert curve.incidence(WON, 3.5) == pytest.approx(1 / 5)


def test_incidences_and_survival_add_up_to_one() -> None:
    data = [(float(i % 7), (i * 5) % 3) for i in range(40)]
    curve = aalen_johansen(data)
    for i, _ in enumerate(curve.times):
        total = curve.survival[i] + curve.incidences[WON][i] + curve.incidences[LOST][i]
        assert total == pytest.approx(1.0)


def test_kaplan_meier_by_hand_and_as_the_one_cause_case() -> None:
    data = [(1.0, True), (2.0, True), (2.0, False), (3.0, True), (4.0, False)]
    curve = kaplan_meier(data)
    assert curve.survival == pytest.approx((0.8, 0.6, 0.3))
    assert curve.incidence(1, 3.0) == pytest.approx(0.7)
    assert curve.quantile(1, 0.5) == 3.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        aalen_johansen([(-1.0, WON)])
    with pytest.raises(ValueError, match="cause 3"):
        aalen_johansen([(1.0, 3)])
    assert aalen_johansen([]).eventual(WON) == 0.0
