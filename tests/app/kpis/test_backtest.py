"""The backtest replays history without looking ahead, and scores by WAPE."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.kpis.backtest import BacktestPoint, backtest, month_starts, summarise
from app.kpis.history import DealHistory

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _deals() -> list[DealHistory]:
    """One deal created every 5 days in 2024, reply after 2 days, won (even) or lost 25 days
    after creation."""
    deals = []
    for i in range(70):
        created = T0 + timedelta(days=5 * i)
        deals.append(
            DealHistory(
                i,
                1,
                created,
                ((1, created + timedelta(days=2)),),
                "won" if i % 2 == 0 else "lost",
                created + timedelta(days=25),
                100.0,
            )
        )
    return deals


def test_month_starts() -> None:
    starts = month_starts(datetime(2024, 11, 15, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    assert [s.date() for s in starts] == [date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]


def test_actuals_are_what_was_won_and_the_replay_does_not_look_ahead() -> None:
    deals = _deals()
    origin = datetime(2024, 7, 1, tzinfo=UTC)
    points = backtest(deals, [origin], horizons=(1, 3))
    july = next(p for p in points if p.horizon == 1)
    won_in_july = sum(
        d.amount for d in deals if d.outcome == "won" and d.closed_at and d.closed_at.month == 7
    )
    assert (july.month, july.actual) == (date(2024, 7, 1), won_in_july)
    # Half the deals are won, 25 days after creation, one every five days: about 3 a month.
    assert july.forecast == pytest.approx(won_in_july, rel=0.35)
    assert july.p10 <= july.forecast <= july.p90
    # The same forecast from a history in which every later deal is lost: nothing leaks.
    changed = [
        d if d.created_at < origin - timedelta(days=40) or d.closed_at is None or
        d.closed_at < origin else DealHistory(d.key, 1, d.created_at, d.reached, "lost",
                                              d.closed_at, d.amount)
        for d in deals
    ]  # fmt: skip
    again = next(p for p in backtest(changed, [origin], horizons=(1,)) if p.horizon == 1)
    assert again.forecast == pytest.approx(july.forecast)


def test_summary_wape_by_hand() -> None:
    points = [
        BacktestPoint(date(2024, 1, 1), 1, date(2024, 1, 1), 100.0, 90.0, 0, 200, 50.0, 80.0),
        BacktestPoint(date(2024, 2, 1), 1, date(2024, 2, 1), 50.0, 70.0, 0, 60, 50.0, 80.0),
    ]
    (row,) = summarise(points)
    assert row.wape_milestone_forecast == pytest.approx(0.2)  # (10 + 20) / 150
    assert row.wape_weighted_pipeline == pytest.approx(50 / 150, abs=1e-4)
    assert row.wape_naive_run_rate == pytest.approx(50 / 150, abs=1e-4)
    assert row.improvement_vs_baseline == pytest.approx(0.4)
    assert row.band_coverage_p10_p90 == 1.0
