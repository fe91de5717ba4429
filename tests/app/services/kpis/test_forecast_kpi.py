"""The API's forecast (over a snapshot's precomputed arrays) and the backtest's (pure
`app.kpis.forecast`) give the same months for the same state."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import case, update

from app.core.database import Database
from app.kpis.calibration import Correction
from app.kpis.forecast import OpenDeal, creation_rates, forecast, month_windows
from app.kpis.sufficiency import sufficiency
from app.models import Opportunity
from app.services.kpis.answers import BandCalibration, ForecastMonth
from app.services.kpis.queries import Filters, forecast_kpi
from app.services.kpis.store import KpiStore
from app.services.state.opportunities import rebuild_states
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


def test_a_forecast_on_history_that_separates_little_says_how_much_more_it_needs(
    db: Database,
) -> None:
    ids = build(db)
    # The world's milestones separate perfectly (only deals at the proposal win): enough.
    enough = forecast_kpi(KpiStore(db).snapshot(), Filters(), 2)
    assert enough.too_little_history is None and enough.closed_deals_needed is not None
    # Won or lost whatever the milestone (every fourth closed deal won, and some at the
    # proposal lost): the milestones tell little apart, and the answer says how much more.
    with db.engine.begin() as connection:
        connection.execute(
            update(Opportunity)
            .where(Opportunity.outcome != "open")
            .values(outcome=case((Opportunity.id % 4 == 0, "won"), else_="lost"))
        )
        rebuild_states(connection, ids["version"], ids["connection"])
    snapshot = KpiStore(db).snapshot()
    answer = forecast_kpi(snapshot, Filters(), 2)
    closed = [d for d in snapshot.deals.values() if not d.is_open]
    want = sufficiency(
        np.array([d.process for d in closed], dtype=np.int64),
        np.array([[p == 0 or p in dict(d.reached) for p in range(4)] for d in closed]),
        np.array([d.outcome == "won" for d in closed]),
    )
    assert not want.enough and answer.closed_deals_needed == want.needed
    assert answer.too_little_history == want.shortfall()
    assert f"{len(closed)} closed opportunities" in answer.too_little_history


def test_a_month_no_past_origin_reached_is_drawn_with_the_pooled_correction(
    db: Database,
) -> None:
    """The first month has its own correction (x1.5); the second none: it is drawn with what
    the errors of every horizon asked together (x1.2), not with the model's own band."""
    build(db)
    snapshot = KpiStore(db).snapshot()
    first = Correction(1, False, "total", 1.5, 1.8, 12, 0.6, prior_scale=1.2)
    calibration = BandCalibration("calibrated", "", [first])
    plain = forecast_kpi(snapshot, Filters(), 2).months
    drawn = forecast_kpi(snapshot, Filters(), 2, True, calibration).months
    assert [m.band_scale for m in drawn] == [1.5, 1.2]
    for month in (0, 1):
        assert drawn[month].expected_amount == plain[month].expected_amount
        assert drawn[month].p90_amount > plain[month].p90_amount
