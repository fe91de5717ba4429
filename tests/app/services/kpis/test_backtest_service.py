"""The backtest over stored opportunity state: origins, filters, the baseline's field history
read strictly before each origin, CSV rows, and an honest answer when history is too short."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from app.core.database import Database
from app.kpis.backtest import HistoryNeed
from app.kpis.forecast import PipelineDeal
from app.kpis.history import DealHistory
from app.services.kpis.backtest import (
    BacktestReport,
    FieldHistory,
    NoBacktest,
    calibration_of,
    csv_rows,
    run_backtest,
    strictly_before,
)
from app.services.kpis.filters import Filters
from app.services.kpis.past import FieldValues
from app.services.kpis.queries import forecast_kpi
from app.services.kpis.store import KpiStore
from tests.support.kpi_world import NOW, START, build

SMALL = HistoryNeed(closed=20, won=3, days=60)


def test_too_little_history_is_said_with_what_the_forecast_needs(db: Database) -> None:
    build(db)
    answer = run_backtest(db, 6)
    assert isinstance(answer, NoBacktest)
    assert answer.note.startswith("too little history to forecast well before any origin")
    assert "needs at least 100 closed (20 won) over 180 days" in answer.note
    assert [s.origin.day for s in answer.skipped] == [1] * 6
    assert answer.cells == []


def test_a_backtest_of_the_stored_history(db: Database) -> None:
    build(db)
    first = (START + timedelta(days=100)).date()
    report = run_backtest(db, start=first, horizons=3, need=SMALL)
    assert isinstance(report, BacktestReport)
    assert report.origins and report.origins[0] >= first
    assert all(o.day == 1 for o in report.origins)
    assert report.origins[-1] < NOW.date() - timedelta(days=27)  # its first month is over
    assert {c.horizon_months for c in report.cells} <= {1, 2, 3}
    assert {(c.cumulative, c.part) for c in report.cells} == {
        (cumulative, part) for cumulative in (False, True) for part in ("open", "new", "total")
    }
    assert "lower is better" in report.reading
    assert "today's" in report.baseline_values  # no field history stored in this world
    header, rows = csv_rows(report)
    assert header[:4] == ("horizon_months", "cumulative", "part", "method")
    # four methods on the total, three on the open deals, two on new ones
    assert len(rows) == len(report.cells) // 3 * (4 + 3 + 2)
    weekly = run_backtest(db, start=first, every="week", horizons=1, need=SMALL)
    assert isinstance(weekly, BacktestReport)
    steps = {(b - a).days for a, b in zip(weekly.origins, weekly.origins[1:], strict=False)}
    assert steps == {7}


def test_a_team_is_scored_on_its_own_deals(db: Database) -> None:
    build(db)
    first = (START + timedelta(days=100)).date()
    everyone = run_backtest(db, start=first, horizons=1, need=SMALL)
    north = run_backtest(db, start=first, horizons=1, need=SMALL, filters=Filters(team="North"))
    assert isinstance(everyone, BacktestReport) and isinstance(north, BacktestReport)
    assert north.filters.team == "North"

    def won(report: BacktestReport) -> float:
        return sum(c.actual_won for c in report.cells if c.part == "total" and not c.cumulative)

    assert 0 < won(north) < won(everyone)


def test_the_field_history_is_read_strictly_before_the_origin() -> None:
    history = FieldHistory()
    t = datetime(2024, 7, 1, tzinfo=UTC)
    history.times[1] = [t - timedelta(days=3), t]
    early, late = PipelineDeal(100.0, 10.0, date(2024, 7, 20)), PipelineDeal(900.0, 90.0, None)
    history.values[1] = [FieldValues(early, "Prospecting"), FieldValues(late, "Negotiation")]
    deal = DealHistory(1, 1, t - timedelta(days=5), ())
    at = strictly_before(history)
    assert at(deal, t) == early  # the change at the origin instant is not known yet
    assert at(deal, t + timedelta(seconds=1)) == late
    assert at(deal, t - timedelta(days=4)) is None


def test_the_report_calibrates_the_forecast_band_at_its_instant(db: Database) -> None:
    """The report's correction for a forecast at its as-of rests on every origin it scored;
    the forecast drawn with it is wider or narrower than the model's own band as it says,
    and says so (band_scale, band_calibration)."""
    build(db)
    first = (START + timedelta(days=100)).date()
    report = run_backtest(db, start=first, horizons=3, need=SMALL)
    assert isinstance(report, BacktestReport)
    found = {(c.horizon_months, c.cumulative, c.part): c for c in report.band_calibration}
    month = found[(1, False, "total")]
    assert month.origins == len(report.origins)
    assert found[(3, True, "total")].origins == len(report.origins) - 2  # the last two: not over
    assert {part for _, _, part in found} == {"open", "new", "total"}
    calibration = calibration_of(report)
    assert calibration.state == "calibrated"
    assert all(not c.cumulative for c in calibration.corrections)
    snapshot = KpiStore(db).snapshot()
    own = forecast_kpi(snapshot, Filters(), 3).months[0]
    drawn = forecast_kpi(snapshot, Filters(), 3, True, calibration).months[0]
    assert drawn.expected_amount == own.expected_amount
    assert drawn.band_scale == round(month.scale, 3) != 1.0
    wider = drawn.p90_amount - drawn.p10_amount > own.p90_amount - own.p10_amount
    assert wider == (month.scale > 1.0)
    nothing = calibration_of(run_backtest(db, 6))  # too little history for the default need
    assert nothing.state == "no backtest" and nothing.corrections == []
    plain = forecast_kpi(snapshot, Filters(), 3, True, nothing).months[0]
    assert (plain.p10_amount, plain.p90_amount, plain.band_scale) == (
        own.p10_amount,
        own.p90_amount,
        1.0,
    )
