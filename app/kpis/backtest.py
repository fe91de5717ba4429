"""Backtest: replay history as of past month starts, using only what was known then.

At each origin T (the first instant of a month) every deal is cut back to what was known at
T (`DealHistory.as_of`), the model is fitted on that alone, and the forecast for the months
starting at T is compared with what was actually won in them. Horizon h is the h-th month
from T: h = 1 is the month that starts at T, h = 3 the one two months later. Beside it, at
the same origins: the CRM's weighted pipeline as it stood at T (amount * stage probability
by close date, from the field history when there is one), and a naive run-rate (the mean won
amount of the three months before T). The error of each is the WAPE over all origins.

    rows = backtest(deals, origins, pipeline_at=history.at)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.kpis.accuracy import wape
from app.kpis.forecast import (
    OpenDeal,
    PipelineDeal,
    creation_rates,
    forecast,
    month_windows,
    weighted_pipeline,
)
from app.kpis.history import DealHistory, days_between
from app.kpis.model import fit_model

__all__ = ["HORIZONS", "BacktestPoint", "HorizonSummary", "backtest", "month_starts", "summarise"]

HORIZONS = (1, 3)
PipelineAt = Callable[[DealHistory, datetime], PipelineDeal | None]


@dataclass(frozen=True)
class BacktestPoint:
    origin: date
    horizon: int
    month: date
    actual: float
    forecast: float
    p10: float
    p90: float
    baseline: float
    naive: float


@dataclass(frozen=True, slots=True)
class HorizonSummary:
    """One horizon's errors over every origin, rounded as reported."""

    horizon_months: int
    origins: int
    actual_won: float
    wape_milestone_forecast: float | None
    wape_weighted_pipeline: float | None
    wape_naive_run_rate: float | None
    improvement_vs_baseline: float | None
    """1 - WAPE of the forecast / WAPE of the weighted pipeline: above 0, the forecast wins."""
    band_coverage_p10_p90: float | None
    """Share of the origins whose actual fell inside the P10-P90 band (0.8 is nominal)."""


def month_starts(first: datetime, last: datetime) -> list[datetime]:
    """First instants of the months from the one after `first` up to `last` (inclusive)."""
    year, month = first.year, first.month
    out: list[datetime] = []
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        start = datetime(year, month, 1, tzinfo=UTC)
        if start > last:
            return out
        out.append(start)


def _won_by_month(deals: Sequence[DealHistory]) -> dict[date, float]:
    won: dict[date, float] = {}
    for deal in deals:
        if deal.outcome == "won" and deal.closed_at is not None:
            key = date(deal.closed_at.year, deal.closed_at.month, 1)
            won[key] = won.get(key, 0.0) + deal.amount
    return won


def _months_before(month: date, n: int) -> list[date]:
    out = []
    year, m = month.year, month.month
    for _ in range(n):
        m -= 1
        if m == 0:
            year, m = year - 1, 12
        out.append(date(year, m, 1))
    return out


def backtest(
    deals: Sequence[DealHistory],
    origins: Sequence[datetime],
    pipeline_at: PipelineAt | None = None,
    horizons: Sequence[int] = HORIZONS,
    new_pipeline: bool = True,
) -> list[BacktestPoint]:
    won = _won_by_month(deals)
    points: list[BacktestPoint] = []
    ahead = max(horizons)
    for origin in origins:
        known = [k for k in (d.as_of(origin) for d in deals) if k is not None]
        model = fit_model(known, origin)
        open_deals, pipeline = [], []
        full = {d.key: d for d in deals}
        for deal in known:
            if not deal.is_open or deal.process is None:
                continue
            position, since = deal.position_at(origin)
            snapshot = pipeline_at(full[deal.key], origin) if pipeline_at else None
            amount = snapshot.amount if snapshot is not None else deal.amount
            open_deals.append(OpenDeal(amount, deal.process, position, days_between(since, origin)))
            if snapshot is not None:
                pipeline.append(snapshot)
        windows = month_windows(origin, ahead)
        rates = creation_rates(known, origin) if new_pipeline else []
        rows = forecast(open_deals, model, windows, rates)
        baseline = weighted_pipeline(pipeline, windows)
        before = _months_before(windows[0].month, 3)
        naive = sum(won.get(m, 0.0) for m in before) / 3
        for h in horizons:
            row = rows[h - 1]
            points.append(
                BacktestPoint(
                    origin=origin.date(),
                    horizon=h,
                    month=row.month,
                    actual=won.get(row.month, 0.0),
                    forecast=row.expected_amount,
                    p10=row.p10_amount,
                    p90=row.p90_amount,
                    baseline=baseline[h - 1],
                    naive=naive,
                )
            )
    return points


def summarise(points: Sequence[BacktestPoint]) -> list[HorizonSummary]:
    """WAPE per horizon of the milestone forecast, the baseline and the naive run-rate."""
    out: list[HorizonSummary] = []
    for h in sorted({p.horizon for p in points}):
        mine = [p for p in points if p.horizon == h]
        actual = [p.actual for p in mine]
        forecast_wape = wape(actual, [p.forecast for p in mine])
        baseline_wape = wape(actual, [p.baseline for p in mine])
        inside = sum(1 for p in mine if p.p10 <= p.actual <= p.p90)
        out.append(
            HorizonSummary(
                horizon_months=h,
                origins=len(mine),
                actual_won=round(sum(actual), 2),
                wape_milestone_forecast=_r(forecast_wape),
                wape_weighted_pipeline=_r(baseline_wape),
                wape_naive_run_rate=_r(wape(actual, [p.naive for p in mine])),
                improvement_vs_baseline=_r(1 - forecast_wape / baseline_wape)
                if forecast_wape is not None and baseline_wape
                else None,
                band_coverage_p10_p90=round(inside / len(mine), 3) if mine else None,
            )
        )
    return out


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
