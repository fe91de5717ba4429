"""Forecast per calendar month: Σ amount * P(won in that month | milestone, days at it).

No close dates and no stage probabilities: each open deal contributes its amount times the
model's probability that it is won inside the month, given where it stands
(`winmodel.WinModel`: exact landmarks, recency-weighted, shrunk). Deals not yet created add
the recent creation rate (`arrivals.creation_rates`) times the probability that a deal
created on each future day is won inside the month.

The P10-P90 band (`band.band`, skewed like a sum of wins) includes each deal's outcome
noise, the estimated rates' own uncertainty and the arrival noise of new pipeline.

The baseline beside it is the CRM's own weighted pipeline: Σ amount * stage probability of
open deals whose close date falls in the month.

    windows = month_windows(as_of, 3)
    rows = forecast(open_deals, model, windows, new_pipeline=creation_rates(deals, as_of))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import numpy as np

from app.core.caching import BoundedCache
from app.kpis.arrivals import Creation, creation_rates
from app.kpis.band import band
from app.kpis.history import days_between
from app.kpis.winmodel import WinModel

__all__ = [
    "FORECAST_HORIZON_MONTHS",
    "Creation",
    "Moments",
    "MonthForecast",
    "OpenDeal",
    "PipelineDeal",
    "Window",
    "creation_rates",
    "forecast",
    "forecast_close_month",
    "forecast_parts",
    "month_windows",
    "new_moments",
    "open_moments",
    "probability_moments",
    "weighted_pipeline",
    "window_offsets",
]


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
    variance_amount: float = 0.0
    """The model's own variance of the amount, before any calibration (`calibrated`)."""
    variance_count: float = 0.0
    band_scale: float = 1.0
    """How much wider (above 1) or narrower the band is drawn than the variance alone says
    (`calibration`)."""

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
        """The month's expectations with their P10-P90 band (`band.band`)."""
        p10_amount, p90_amount = band(mean, var_amount)
        p10_count, p90_count = band(count, var_count)
        return cls(
            month=month,
            expected_amount=mean,
            expected_count=count,
            p10_amount=p10_amount,
            p90_amount=p90_amount,
            p10_count=p10_count,
            p90_count=p90_count,
            new_pipeline_amount=new_amount,
            variance_amount=var_amount,
            variance_count=var_count,
        )

    def calibrated(self, scale: float) -> MonthForecast:
        """The same forecast, its bands (amount and count) `scale` times as wide on the normal
        scale (`band.band`): the correction the history's own backtest errors ask for."""
        p10_amount, p90_amount = band(self.expected_amount, self.variance_amount, scale)
        p10_count, p90_count = band(self.expected_count, self.variance_count, scale)
        return replace(
            self,
            p10_amount=p10_amount,
            p90_amount=p90_amount,
            p10_count=p10_count,
            p90_count=p90_count,
            band_scale=scale,
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


@dataclass
class Moments:
    """Per window: expected amount and count with their variances; what a band is made of.
    Independent parts add up."""

    mean: np.ndarray
    count: np.ndarray
    var_amount: np.ndarray
    var_count: np.ndarray
    new_amount: np.ndarray

    @classmethod
    def zeros(cls, size: int) -> Moments:
        return cls(*(np.zeros(size) for _ in range(5)))

    def __add__(self, other: Moments) -> Moments:
        return Moments(
            self.mean + other.mean,
            self.count + other.count,
            self.var_amount + other.var_amount,
            self.var_count + other.var_count,
            self.new_amount + other.new_amount,
        )

    def rows(self, windows: Sequence[Window]) -> list[MonthForecast]:
        return [
            MonthForecast.of(
                w.month,
                float(self.mean[i]),
                float(self.count[i]),
                float(self.var_amount[i]),
                float(self.var_count[i]),
                float(self.new_amount[i]),
            )
            for i, w in enumerate(windows)
        ]


def open_moments(
    deals: Iterable[OpenDeal], model: WinModel, offsets: Sequence[tuple[float, float]]
) -> Moments:
    """Deals open now (`probability_moments` of their probabilities from `model`)."""
    groups: dict[tuple[int | None, int], list[OpenDeal]] = {}
    for deal in deals:
        groups.setdefault((deal.process, deal.position), []).append(deal)
    parts = []
    for (process, position), members in groups.items():
        amount = np.array([d.amount for d in members])
        days = np.array([d.days_at for d in members])
        p, evidence = model.probabilities(process, position, days, offsets, amount)
        parts.append((amount, p, evidence))
    return probability_moments(parts, len(offsets))


def probability_moments(
    groups: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], size: int
) -> Moments:
    """Groups of deals (amounts, [deal, window] probabilities, evidence), one group per
    milestone: each deal's outcome (Bernoulli), plus the estimated rates' own error, shared by
    the deals of a group (relative variance (1 - q) / (q n), q their mean probability in the
    window, n their curves' mean effective evidence)."""
    moments = Moments.zeros(size)
    for amount, p, evidence in groups:
        if not amount.shape[0]:
            continue
        expected, won = amount @ p, p.sum(axis=0)
        relative = _relative_variance(p.mean(axis=0), float(np.mean(evidence)))
        moments.mean += expected
        moments.count += won
        moments.var_amount += (amount * amount) @ (p * (1.0 - p)) + expected**2 * relative
        moments.var_count += (p * (1.0 - p)).sum(axis=0) + won**2 * relative
    return moments


def new_moments(
    new_pipeline: Sequence[Creation], model: WinModel, offsets: Sequence[tuple[float, float]]
) -> Moments:
    """Deals not yet created: expected wins from the creation rate, over-dispersed arrivals
    and the error of the rate and of the new-deal curve (`arrivals.Creation`)."""
    moments = Moments.zeros(len(offsets))
    for creation in new_pipeline:
        wins, evidence = model.new_deal_wins(creation.process, offsets)
        value = creation.mean_amount * model.value_ratios.get(creation.process, 1.0)
        for i, expected_wins in enumerate(wins):
            m = creation.per_day * expected_wins
            if m <= 0.0:
                continue
            chance = expected_wins / max(math.ceil(offsets[i][1]), 1)
            spread = (creation.dispersion - 1.0) * m * chance
            relative = creation.rate_relative_variance + float(
                _relative_variance(np.array([chance]), evidence)[0]
            )
            amount = m * value
            moments.mean[i] += amount
            moments.new_amount[i] += amount
            moments.count[i] += m
            moments.var_amount[i] += (
                m * creation.mean_square_amount * value / max(creation.mean_amount, 1e-12)
                + spread * value**2
                + amount * amount * relative
            )
            moments.var_count[i] += m + spread + m * m * relative
    return moments


def forecast(
    deals: Iterable[OpenDeal],
    model: WinModel,
    windows: Sequence[Window],
    new_pipeline: Sequence[Creation] = (),
) -> list[MonthForecast]:
    """Per window: the expected amount and count won, with their P10-P90 band (`band`)."""
    return forecast_parts(deals, model, windows, new_pipeline)["total"]


def forecast_parts(
    deals: Iterable[OpenDeal],
    model: WinModel,
    windows: Sequence[Window],
    new_pipeline: Sequence[Creation] = (),
) -> dict[str, list[MonthForecast]]:
    """`forecast` of the deals open now, of pipeline not yet created, and of both."""
    if not windows:
        return {"open": [], "new": [], "total": []}
    offsets = window_offsets(windows[0].start, windows)
    opened = open_moments(deals, model, offsets)
    created = new_moments(new_pipeline, model, offsets)
    return {
        "open": opened.rows(windows),
        "new": created.rows(windows),
        "total": (opened + created).rows(windows),
    }


def _relative_variance(q: np.ndarray, evidence: float) -> np.ndarray:
    """Var(estimated probability) / probability², binomial with `evidence` deals: (1 - q) /
    (q n); 0 where q is 0, and as if one deal where there is less evidence."""
    n = max(evidence, 1.0)
    safe = np.where(q > 0.0, q, 1.0)
    return np.where(q > 0.0, (1.0 - q) / (safe * n), 0.0)


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
    model: WinModel,
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
    curve, days, _ = model.curve(process, position, days_at)
    if curve is None:
        return None
    offset = np.array([days_at - days])
    eventual = float(curve.eventual(offset)[0])
    if eventual <= 0.0:
        return None
    ends = _month_ends(as_of, horizon_months)
    limits = np.array([end for _, end in ends])
    won = curve.windows(offset, np.zeros(limits.shape[0]), limits)[0]
    for (month, end), by_then in zip(ends, won.tolist(), strict=True):
        if end > 0 and by_then >= eventual / 2.0 - 1e-12:
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
