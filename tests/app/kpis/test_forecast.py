"""Forecast per month with its band, the weighted-pipeline baseline, and WAPE, by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.kpis.accuracy import wape
from app.kpis.arrivals import Creation
from app.kpis.band import band
from app.kpis.forecast import (
    OpenDeal,
    PipelineDeal,
    forecast,
    month_windows,
    weighted_pipeline,
)
from app.kpis.history import DealHistory
from app.kpis.winmodel import WinModel, fit_win_model_histories

T0 = datetime(2024, 6, 1, tzinfo=UTC)
AS_OF = datetime(2025, 1, 25, tzinfo=UTC)


def _history() -> list[DealHistory]:
    """Two deals won 10 days after reaching position 1, one lost 5 days after it."""
    reached = T0 + timedelta(days=1)
    return [
        DealHistory(1, 1, T0, ((1, reached),), "won", reached + timedelta(days=10), 1.0),
        DealHistory(2, 1, T0, ((1, reached),), "won", reached + timedelta(days=10), 1.0),
        DealHistory(3, 1, T0, ((1, reached),), "lost", reached + timedelta(days=5), 1.0),
    ]


def fit_model(deals: list[DealHistory], as_of: datetime) -> WinModel:
    """Every deal alike and no shrinkage: the hand-computed figures below."""
    return fit_win_model_histories(deals, as_of.timestamp(), half_life_days=None, prior_deals=0.0)


def test_month_windows_start_at_as_of() -> None:
    windows = month_windows(AS_OF, 2)
    assert [(w.month, w.start, w.end) for w in windows] == [
        (date(2025, 1, 1), AS_OF, datetime(2025, 2, 1, tzinfo=UTC)),
        (date(2025, 2, 1), datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)),
    ]
    assert month_windows(datetime(2025, 12, 3, tzinfo=UTC), 2)[1].month == date(2026, 1, 1)


def test_expected_amount_lands_in_the_month_the_win_is_due() -> None:
    model = fit_model(_history(), AS_OF)
    # A deal just reached position 1 on Jan 25: wins come 10 days later, in February, w.p. 2/3.
    rows = forecast([OpenDeal(900.0, 1, 1, 0.0)], model, month_windows(AS_OF, 2))
    january, february = rows
    assert january.expected_amount == 0.0 and january.p90_amount == 0.0
    assert february.expected_amount == pytest.approx(600.0)
    assert february.expected_count == pytest.approx(2 / 3)
    # Variance: the deal's own outcome, 900^2 * 2/3 * 1/3 = 180,000, plus the estimate's
    # (three deals): 600^2 * (1 - 2/3) / (2/3 * 3) = 60,000; the band of mean 600, var 240,000.
    assert (february.p10_amount, february.p90_amount) == pytest.approx(band(600.0, 240_000.0))
    assert february.p10_amount < 600.0 < february.p90_amount
    # Six days in, the loss (day 5) is behind it: won for sure on day 10, 4 days on, Jan 29.
    later = forecast([OpenDeal(900.0, 1, 1, 6.0)], model, month_windows(AS_OF, 2))
    assert later[0].expected_amount == pytest.approx(900.0)
    assert later[1].expected_amount == 0.0


def test_new_pipeline_adds_expected_wins_of_deals_not_yet_created() -> None:
    reached = T0
    history = [DealHistory(i, 1, T0, (), "won", reached + timedelta(days=2), 1.0) for i in (1, 2)]
    model = fit_model(history, AS_OF)
    windows = month_windows(datetime(2025, 1, 1, tzinfo=UTC), 1)
    # One new deal a day worth 10, each won 2 days after creation: days 0..28 of January
    # (created at noon) close inside it: 29 deals.
    rows = forecast([], model, windows, [Creation(1, 1.0, 10.0, 100.0)])
    assert rows[0].expected_count == pytest.approx(29.0)
    assert rows[0].expected_amount == pytest.approx(290.0)
    assert rows[0].new_pipeline_amount == pytest.approx(290.0)


def test_weighted_pipeline_by_close_date() -> None:
    windows = month_windows(AS_OF, 2)
    deals = [
        PipelineDeal(1000.0, 50, date(2025, 1, 31)),
        PipelineDeal(2000.0, 10, date(2025, 2, 14)),
        PipelineDeal(5000.0, 90, date(2025, 4, 1)),  # beyond the horizon
        PipelineDeal(7000.0, 90, None),
    ]
    assert weighted_pipeline(deals, windows) == pytest.approx([500.0, 200.0])


def test_wape_by_hand() -> None:
    assert wape([100.0, 50.0], [90.0, 70.0]) == pytest.approx(0.2)
    assert wape([0.0, 0.0], [1.0, 2.0]) is None
    with pytest.raises(ValueError):
        wape([1.0], [])
