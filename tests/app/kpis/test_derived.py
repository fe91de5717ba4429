"""Per-opportunity values at an instant, computed once over columns, agree with the
forecast they stand in for; an open deal's win probability is never 0 or 1 and says how many
deals it rests on."""

from __future__ import annotations

import numpy as np
import pytest

from app.kpis.columns import DealColumns, epoch, fit_model_columns
from app.kpis.derived import FORECAST_MONTHS, derive
from app.kpis.forecast import Creation, OpenDeal, forecast, month_windows
from app.kpis.plan_columns import open_standing
from tests.app.kpis.test_columns import AS_OF, random_deals


@pytest.mark.parametrize("seed", [1, 2])
def test_monthly_and_new_pipeline_wins_equal_the_forecast(seed: int) -> None:
    deals = random_deals(300, seed)
    cols = DealColumns.from_histories(deals, 5)
    model = fit_model_columns(cols, epoch(AS_OF), min_sample=10)
    derived = derive(cols, model, AS_OF)
    forecaster = derived.forecaster
    windows = month_windows(AS_OF, FORECAST_MONTHS)
    for process in (1, 2):
        # One deal a day worth 1: the forecast's new-pipeline amount is the expected wins,
        # moved by how deal size moves winning in the process.
        rows = forecast([], forecaster, windows, [Creation(process, 1.0, 1.0, 1.0)])
        ratio = forecaster.value_ratios[process]
        want = [row.new_pipeline_amount / ratio for row in rows]
        assert derived.new_pipeline[process].tolist() == pytest.approx(want, rel=1e-12)
    for row in np.nonzero((cols.outcome == 0) & (cols.process >= 0))[0].tolist()[:40]:
        amount = float(cols.amount[row])
        deal = OpenDeal(
            amount,
            int(cols.process[row]),
            int(derived.position[row]),
            float(derived.days_at[row]),
        )
        months = forecast([deal], forecaster, windows)
        want = [month.expected_amount / amount for month in months]
        assert derived.month_p[row].tolist() == pytest.approx(want, abs=1e-9)


def test_open_deals_are_never_certain_and_say_what_they_rest_on() -> None:
    deals = random_deals(300, 3)
    cols = DealColumns.from_histories(deals, 5)
    derived = derive(cols, fit_model_columns(cols, epoch(AS_OF), min_sample=10), AS_OF)
    live = (cols.outcome == 0) & (cols.process >= 0)
    assert live.any()
    assert ((derived.win[live] > 0.0) & (derived.win[live] < 1.0)).all()
    assert (derived.based_on[live] > 0).all()
    closed = cols.outcome != 0
    assert set(derived.win[closed].tolist()) <= {0.0, 1.0}
    assert (derived.based_on[closed] == 0).all()


def test_plans_and_progress_read_the_forecasts_probabilities() -> None:
    deals = random_deals(300, 4)
    cols = DealColumns.from_histories(deals, 5)
    derived = derive(cols, fit_model_columns(cols, epoch(AS_OF), min_sample=10), AS_OF)
    # A plan for the rest of this month counts each open deal at its forecast for the month.
    month = month_windows(AS_OF, 1)[0]
    every = np.ones(len(cols), dtype=bool)
    standing = open_standing(
        cols, every, derived.forecaster, "deals", epoch(AS_OF), epoch(month.start), epoch(month.end)
    )
    live = np.nonzero((cols.outcome == 0) & (cols.process >= 0))[0]
    assert standing.chance.tolist() == pytest.approx(derived.month_p[live, 0].tolist(), abs=1e-12)
    # Progress value's arrival probabilities are the forecast's, made monotone along the process.
    for process in (1, 2):
        arrivals = [derived.forecaster.arrival_win(process, p) for p in range(5)]
        values = [a.value for a in arrivals]
        assert values == sorted(values)
        assert all(0.0 < v < 1.0 for v in values) and all(a.sample > 0 for a in arrivals)
