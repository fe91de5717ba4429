"""Pipeline not yet created: how many new deals a process will see per day, and how unsure that is.

Why not the plain count of the last 90 days: when a lead flow stops, such a rate keeps
adding wins for three months (the issue's real funnel: 57-104 wins a month from a flow that
had dried up). Here the rate is the recency-weighted count of deals created in the last
`WINDOW_DAYS`, each weighted 0.5 ** (age / `HALF_LIFE_DAYS`), over the equally weighted
exposure (days): a flow that stops loses half its rate in three weeks, three quarters in six.

Arrivals vary more than a Poisson stream (campaigns, seasons, a source switched on or off).
`dispersion` is how much more: the variance of weekly counts over their mean, measured from
week-to-week differences (so a change of level is not mistaken for noise), at least 1. The
rate's own uncertainty (`rate_relative_variance`) is dispersion over the effective number
of deals it was counted from. The forecast's band uses both.

    rates = creation_rates(deals, as_of)   # one Creation per process
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from app.kpis.history import DealHistory, days_between
from app.kpis.recency import effective_size, recency_weights

__all__ = ["HALF_LIFE_DAYS", "WINDOW_DAYS", "Creation", "creation_rates", "dispersion"]

WINDOW_DAYS = 182
HALF_LIFE_DAYS = 21.0


@dataclass(frozen=True)
class Creation:
    """New deals of one process: per day, with their mean amount and mean squared amount."""

    process: int
    per_day: float
    mean_amount: float
    mean_square_amount: float
    dispersion: float = 1.0
    """Variance over mean of weekly arrivals (1: Poisson)."""
    rate_relative_variance: float = 0.0
    """Var(per_day estimate) / per_day²."""


def dispersion(weekly_counts: Iterable[float]) -> float:
    """Variance over mean of weekly counts, from successive differences: Σ(x_t - x_t-1)² /
    (2 (n - 1)) over the mean; at least 1 (a Poisson stream), 1 with fewer than 3 weeks."""
    counts = np.asarray(list(weekly_counts), dtype=np.float64)
    mean = float(counts.mean()) if counts.shape[0] else 0.0
    if counts.shape[0] < 3 or mean <= 0:
        return 1.0
    variance = float(np.sum(np.diff(counts) ** 2)) / (2.0 * (counts.shape[0] - 1))
    return float(max(1.0, variance / mean))


def creation_rates(
    deals: Iterable[DealHistory],
    as_of: datetime,
    window_days: int = WINDOW_DAYS,
    half_life_days: float | None = HALF_LIFE_DAYS,
) -> list[Creation]:
    """Per process, from the deals created in the `window_days` before `as_of`."""
    since = as_of - timedelta(days=window_days)
    ages: dict[int, list[float]] = {}
    amounts: dict[int, list[float]] = {}
    for deal in deals:
        if deal.process is None or not (since < deal.created_at <= as_of):
            continue
        ages.setdefault(deal.process, []).append(days_between(deal.created_at, as_of))
        amounts.setdefault(deal.process, []).append(deal.amount)
    days = np.arange(window_days, dtype=np.float64) + 0.5
    exposure = float(recency_weights(days, half_life_days).sum())
    out = []
    for process in sorted(ages):
        age = np.asarray(ages[process], dtype=np.float64)
        weights = recency_weights(age, half_life_days)
        amount = np.asarray(amounts[process])
        weeks = np.bincount(
            np.minimum(age // 7, window_days // 7 - 1).astype(np.int64), minlength=window_days // 7
        )
        spread = dispersion(weeks[::-1].tolist())
        count = effective_size(weights) if weights.shape[0] else 0.0
        out.append(
            Creation(
                process=process,
                per_day=float(weights.sum()) / exposure,
                mean_amount=float(amount.mean()),
                mean_square_amount=float(np.mean(amount * amount)),
                dispersion=spread,
                rate_relative_variance=spread / max(count, 1.0),
            )
        )
    return out
