"""What process health answers: the API's `response_model` and `milestones health --json`
print these models."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.core.timestamps import DataAgeSeconds, IsoDateTime
from app.services.kpis.filters import Filters

__all__ = ["DriftAnswer", "Estimate", "StepDrift"]

Metric = Literal["conversion", "days_to_next"]


class Estimate(BaseModel):
    """A share (conversion, 0..1) or a median (days) with its 95 % interval and sample."""

    model_config = ConfigDict(frozen=True)

    value: float
    low: float
    high: float
    deals: int


class StepDrift(BaseModel):
    """One test: a step's conversion within the horizon, or its days to the next milestone
    among the deals that converted, recent weeks against the baseline year before them."""

    model_config = ConfigDict(frozen=True)

    process: str
    from_milestone: str
    """The milestone's key, or `created`."""
    from_name: str
    to_milestone: str
    to_name: str
    metric: Metric
    horizon_days: float | None
    """Conversion counts an advance within this many days of reaching `from_milestone`."""
    baseline_weeks: tuple[date, date] | None
    """First and last Monday of the baseline cohorts."""
    recent_weeks: tuple[date, date] | None
    baseline: Estimate | None
    recent: Estimate | None
    p_value: float | None
    """Two-sided; null when the step has too few deals to be tested."""
    flagged: bool
    direction: Literal["up", "down"] | None
    since: date | None
    """Flagged only: the Monday of the first cohort from which the change holds."""
    before: Estimate | None
    after: Estimate | None
    change: float | None
    """after - before: points of conversion (0..1), or days."""
    summary: str | None
    note: str | None = None


class DriftAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    filters: Filters
    as_of: IsoDateTime
    method: str
    false_discovery_rate: float
    tested: int
    flagged: int
    steps: list[StepDrift]
    data_age_seconds: DataAgeSeconds = None
