"""Forecast per calendar month: Σ amount * P(won in that month | milestone, days at it).

No close dates and no stage probabilities: each open deal contributes its amount times the
model's probability that it is won inside the month, given where it stands. Deals not yet
created add the historical creation rate (per process, over `CREATION_WINDOW_DAYS`) times the
probability that a deal created on each future day is won inside the month.

The P10-P90 band treats deals as independent Bernoulli outcomes (and new deals as a Poisson
stream) and uses the normal approximation of the sum: mean ± 1.2816 sigma, floored at 0. It does
not include the uncertainty of the estimated rates themselves.

The baseline beside it is the CRM's own weighted pipeline: Σ amount * stage probability of
open deals whose close date falls in the month.

    windows = month_windows(as_of, 3)
    rows = forecast(open_deals, model, windows, new_pipeline=creation_rates(deals, as_of))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.core.caching import BoundedCache
from app.kpis.history import DealHistory, days_between
from app.kpis.incidence import WON
from app.kpis.model import Model

__all__ = [
    "CREATION_WINDOW_DAYS",
    "FORECAST_HORIZON_MONTHS",
    "Creation",
    "MonthForecast",
    "OpenDeal",
    "PipelineDeal",
    "Window",
    "creation_rates",
    "forecast",
    "forecast_close_month",
    "month_windows",
    "new_deal_wins",
    "weighted_pipeline",
    "window_offsets",
]

CREATION_WINDOW_DAYS = 90
Z90 = 1.2815515655446004


@dataclass(frozen=True, slots=True)
class OpenDeal:
    amount: float
    process: int | None
    position: int
    days_at: float


@dataclass(frozen=True, slots=True)
class PipelineDeal:
    amount: float
    probability_percent: float
    close_date: date | None


@dataclass(frozen=True)
class Creation:
    """New deals of one process: per day, with their mean amount and mean squared amount."""

    process: int
    per_day: float
    mean_amount: float
    mean_square_amount: float


@dataclass(frozen=True)
class Window:
    month: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class MonthForecast:
    month: date
    expected_amount: float
    expected_count: float
    p10_amount: float
    p90_amount: float
    p10_count: float
    p90_count: float
    new_pipeline_amount: float

    @classmethod
    def of(
        cls,
        month: date,
        mean: float,
        count: float,
        var_amount: float,
        var_count: float,
        new_amount: float,
    ) -> MonthForecast:
        """The month's expectations with their P10-P90 band (normal approximation)."""
        return cls(
            month=month,
            expected_amount=mean,
            expected_count=count,
            p10_amount=max(0.0, mean - Z90 * math.sqrt(var_amount)),
            p90_amount=mean + Z90 * math.sqrt(var_amount),
            p10_count=max(0.0, count - Z90 * math.sqrt(var_count)),
            p90_count=count + Z90 * math.sqrt(var_count),
            new_pipeline_amount=new_amount,
        )


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_windows(as_of: datetime, months: int) -> list[Window]:
    """The calendar month containing `as_of` (from `as_of` on) and the `months - 1` after it."""
    windows: list[Window] = []
    first = date(as_of.year, as_of.month, 1)
    for _ in range(months):
        following = _next_month(first)
        start = max(as_of, datetime(first.year, first.month, 1, tzinfo=UTC))
        end = datetime(following.year, following.month, 1, tzinfo=UTC)
        windows.append(Window(first, start, end))
        first = following
    return windows


def window_offsets(as_of: datetime, windows: Sequence[Window]) -> list[tuple[float, float]]:
    """Each window as (start, end) in days after `as_of`."""
    return [(days_between(as_of, w.start), days_between(as_of, w.end)) for w in windows]


def new_deal_wins(
    model: Model, process: int, offsets: Sequence[tuple[float, float]]
) -> list[float]:
    """Per window: Σ over the days ahead of P(a deal of `process` created that day (at noon)
    is won inside the window).

    Times the process's creation rate (deals per day), that is the expected number of wins
    in each window from deals not yet created; times their mean amount, the expected amount.
    """
    wins = [0.0] * len(offsets)
    horizon = math.ceil(offsets[-1][1]) if offsets else 0
    for day in range(horizon):
        created = day + 0.5
        for i, (start, end) in enumerate(offsets):
            if end <= created:
                continue
            p = model.win_between(process, 0, 0.0, max(0.0, start - created), end - created)
            if p > 0.0:
                wins[i] += p
    return wins


def creation_rates(
    deals: Iterable[DealHistory], as_of: datetime, window_days: int = CREATION_WINDOW_DAYS
) -> list[Creation]:
    """New deals per day and their amounts, per process, over the `window_days` before as_of."""
    since = as_of - timedelta(days=window_days)
    sums: dict[int, list[float]] = {}
    for deal in deals:
        if deal.process is None or not (since < deal.created_at <= as_of):
            continue
        acc = sums.setdefault(deal.process, [0.0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += deal.amount
        acc[2] += deal.amount * deal.amount
    return [
        Creation(process, n / window_days, total / n, square / n)
        for process, (n, total, square) in sorted(sums.items())
    ]


def forecast(
    deals: Iterable[OpenDeal],
    model: Model,
    windows: Sequence[Window],
    new_pipeline: Sequence[Creation] = (),
) -> list[MonthForecast]:
    if not windows:
        return []
    offsets = window_offsets(windows[0].start, windows)
    mean = [0.0] * len(windows)
    count = [0.0] * len(windows)
    var_amount = [0.0] * len(windows)
    var_count = [0.0] * len(windows)
    new_amount = [0.0] * len(windows)
    for deal in deals:
        for i, (start, end) in enumerate(offsets):
            p = model.win_between(deal.process, deal.position, deal.days_at, start, end)
            if p <= 0.0:
                continue
            mean[i] += deal.amount * p
            count[i] += p
            var_amount[i] += deal.amount * deal.amount * p * (1.0 - p)
            var_count[i] += p * (1.0 - p)
    for creation in new_pipeline:
        for i, wins in enumerate(new_deal_wins(model, creation.process, offsets)):
            expected_deals = creation.per_day * wins
            amount = expected_deals * creation.mean_amount
            mean[i] += amount
            new_amount[i] += amount
            count[i] += expected_deals
            var_amount[i] += expected_deals * creation.mean_square_amount
            var_count[i] += expected_deals
    return [
        MonthForecast.of(w.month, mean[i], count[i], var_amount[i], var_count[i], new_amount[i])
        for i, w in enumerate(windows)
    ]


def weighted_pipeline(deals: Iterable[PipelineDeal], windows: Sequence[Window]) -> list[float]:
    """The CRM's weighted pipeline per window: amount * stage probability, by close date."""
    index = {w.month: i for i, w in enumerate(windows)}
    totals = [0.0] * len(windows)
    for deal in deals:
        if deal.close_date is None:
            continue
        i = index.get(date(deal.close_date.year, deal.close_date.month, 1))
        if i is not None:
            totals[i] += deal.amount * deal.probability_percent / 100.0
    return totals


FORECAST_HORIZON_MONTHS = 24
"""How far ahead a forecast close month is looked for."""


def forecast_close_month(
    model: Model,
    process: int | None,
    position: int,
    days_at: float,
    as_of: datetime,
    horizon_months: int = FORECAST_HORIZON_MONTHS,
) -> date | None:
    """The month by which, if it is won, the deal is more likely won than not.

    The median of the forecast distribution of the month of winning (won and lost competing,
    as the forecast uses it): the first month whose cumulative P(won by its end) reaches half
    of P(won eventually). None when history gives the deal no chance, or the median lies
    beyond the horizon. Never the rep's close date.
    """
    eventual = model.win(process, position, days_at).value
    if eventual <= 0.0:
        return None
    half = eventual / 2.0
    curve, landmark, _ = model.curve(process, position, days_at)  # once, not once a month
    if curve is None:
        return None
    offset = days_at - landmark
    alive = curve.survival_at(offset)
    if alive <= 0.0:
        return None
    before = curve.incidence(WON, offset)
    for month, end in _month_ends(as_of, horizon_months):
        if end > 0 and max(0.0, (curve.incidence(WON, offset + end) - before) / alive) >= (
            half - 1e-12
        ):
            return month
    return None


_MONTH_ENDS = BoundedCache[tuple[datetime, int], tuple[tuple[date, float], ...]](
    "each month's end in days from an as-of: every opportunity row of a view asks the same",
    size=16,
)


def _month_ends(as_of: datetime, horizon_months: int) -> tuple[tuple[date, float], ...]:
    return _MONTH_ENDS.get_or_put(
        (as_of, horizon_months),
        lambda: tuple(
            (w.month, days_between(as_of, w.end)) for w in month_windows(as_of, horizon_months)
        ),
    )
