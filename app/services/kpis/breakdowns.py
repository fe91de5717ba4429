"""KPI answers broken down the way the web app shows them: the stalled deals ranked by the
value at risk, the forecast per milestone, a rep's latest steps and a deal's win probability
over time. Computed by `queries` from the same snapshot and model as every other answer."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.timestamps import IsoDateTime
from app.services.kpis.rows import OpportunityKpis

__all__ = ["MilestoneForecast", "RankedPage", "RepStep", "WinPoint"]


@dataclass(frozen=True, slots=True)
class RankedPage:
    """Rows in rank order; `offset` is where this page starts among `total`."""

    data: list[OpportunityKpis]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class MilestoneForecast:
    """Expected won amount per month of the open deals standing at one milestone."""

    process: str
    process_name: str
    milestone: str
    """The milestone's key, or `created` for deals before their first milestone."""
    name: str
    position: int
    deals: int
    amounts: list[float]
    """One per forecast month, this month first."""


@dataclass(frozen=True, slots=True)
class RepStep:
    """A step forward: a customer reached a milestone higher than any before, and what that
    added to the rep's progress value."""

    opportunity_id: int
    opportunity: str
    owner: str | None
    milestone: str
    milestone_name: str
    kind: str
    occurred_at: IsoDateTime
    progress_value: float


@dataclass(frozen=True, slots=True)
class WinPoint:
    """P(won eventually) of a deal at one instant of its history, by the current model."""

    at: IsoDateTime
    position: int
    win_probability: float
