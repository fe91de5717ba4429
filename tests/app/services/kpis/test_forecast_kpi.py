"""The API's forecast (over a snapshot's precomputed arrays) and the backtest's (pure
`app.kpis.forecast`) give the same months for the same state."""

from __future__ import annotations

import pytest

from app.core.database import Database
from app.kpis.forecast import OpenDeal, creation_rates, forecast, month_windows
from app.services.kpis.answers import ForecastMonth
from app.services.kpis.queries import Filters, forecast_kpi
from app.services.kpis.store import KpiStore
from tests.support.kpi_world import build


def test_the_snapshot_forecast_equals_the_pure_forecast(db: Database) -> None:
    build(db)
    snapshot = KpiStore(db).snapshot()
    derived, cols = snapshot.derived, snapshot.columns
    open_deals = [
        OpenDeal(
            float(cols.amount[row]),
            int(cols.process[row]),
            int(derived.position[row]),
            float(derived.days_at[row]),
        )
        for row in range(len(cols))
        if cols.outcome[row] == 0 and cols.process[row] >= 0
    ]
    rates = creation_rates(snapshot.deals.values(), snapshot.as_of)
    assert rates, "the world creates deals in the window, so new pipeline counts"
    windows = month_windows(snapshot.as_of, 4)
    want = [
        ForecastMonth.of(m, 0.0) for m in forecast(open_deals, derived.forecaster, windows, rates)
    ]
    got = forecast_kpi(snapshot, Filters(), 4).months
    assert all(m.new_pipeline_amount > 0 for m in got[1:]), "deals not yet created count"
    for mine, theirs in zip(got, want, strict=True):
        assert mine.month == theirs.month
        for key in ("expected_amount", "new_pipeline_amount", "p10_amount", "p90_amount"):
            assert getattr(mine, key) == pytest.approx(getattr(theirs, key), abs=0.02), key


def test_a_forecast_on_too_little_history_says_so_and_how_much_it_needs(db: Database) -> None:
    build(db)  # 120 deals: fewer than 100 of them closed
    answer = forecast_kpi(KpiStore(db).snapshot(), Filters(), 2)
    assert answer.too_little_history is not None
    assert "the forecast needs at least 100 closed (20 won) over 180 days" in (
        answer.too_little_history
    )
