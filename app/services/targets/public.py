"""What targets and their plans look like from outside: the API answers with these and
`milestones targets ... --json` prints the same models."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.timestamps import DataAgeSeconds, IsoDateTime

__all__ = [
    "BreakdownTrack",
    "MilestonePlan",
    "MilestoneTrack",
    "PlanStatus",
    "PlanWeekPublic",
    "RequiredMovement",
    "TargetPlan",
    "TargetPublic",
    "TargetSet",
    "TargetsPublic",
    "TrackPublic",
]

PlanStatus = Literal["not_started", "on_track", "behind", "reached", "missed", "unreachable"]
TrackStatus = Literal["ahead", "on_track", "behind", "no_plan"]


class TargetSet(BaseModel):
    """A target to set: a process's won amount or number of deals in a month or quarter,
    optionally for one team or one rep. Setting it again (same process, period, team and
    rep) replaces its value."""

    model_config = ConfigDict(extra="forbid")

    process: str = Field(min_length=1, max_length=64, description="Process key.")
    period: str = Field(description="A month (YYYY-MM) or a quarter (YYYY-Qn).")
    amount: float | None = Field(default=None, gt=0, lt=1e15, description="Won amount.")
    deals: int | None = Field(default=None, gt=0, le=1_000_000, description="Deals won.")
    team: str | None = Field(default=None, min_length=1, max_length=100)
    owner: str | None = Field(
        default=None, min_length=1, max_length=64, description="The rep's CRM owner id."
    )

    @model_validator(mode="after")
    def _one_value_one_breakdown(self) -> Self:
        if (self.amount is None) == (self.deals is None):
            raise ValueError("give either amount or deals")
        if self.team is not None and self.owner is not None:
            raise ValueError("a target is for the process, one team or one rep: not both")
        return self


class TargetPublic(BaseModel):
    id: int
    process: str
    period: str
    """`2026-03` or `2026-Q1`."""
    period_kind: Literal["month", "quarter"]
    start: date
    end: date
    """The first day after the period."""
    metric: Literal["amount", "deals"]
    value: float
    team: str | None
    owner: str | None
    created_by: str | None
    created_at: IsoDateTime
    updated_at: IsoDateTime


class TargetsPublic(BaseModel):
    data: list[TargetPublic]
    count: int


class PlanWeekPublic(BaseModel):
    week: date
    """The Monday the calendar week starts on."""
    start: IsoDateTime
    end: IsoDateTime


class RequiredMovement(BaseModel):
    """Deals that must reach the milestone, week by week, for the target to be reached with
    `confidence`; `chance` is the exact probability for these counts."""

    confidence: float
    total: int
    per_week: list[int]
    chance: float
    beyond_history: bool
    """A week asks for more than twice the most deals that reached the milestone in any week
    of the last 52."""


class MilestonePlan(BaseModel):
    milestone: str
    """The milestone's key, or `created` for new opportunities."""
    name: str
    position: int
    chances: list[float]
    """Per week: P(a deal reaching the milestone that week is won inside the period)."""
    open_forecast: float
    """What the open deals already at this milestone or beyond are forecast to win inside the
    period (amount, or deals)."""
    busiest_week: int
    """The most deals that reached it in one week of the last 52 (in the target's scope)."""
    p50: RequiredMovement | None
    p80: RequiredMovement | None


class MilestoneTrack(BaseModel):
    milestone: str
    name: str
    position: int
    actual: int
    """Deals that reached it since the period started."""
    required_p50: int | None
    required_p80: int | None
    """What the plan made at the period's start asked for by now."""
    behind_by: int
    needed_this_week: int
    """Still to come this week to be on the 50 % plan at the week's end."""
    status: TrackStatus
    message: str


class TrackPublic(BaseModel):
    """Movement since the period started against the plan made at its start."""

    since: IsoDateTime
    status: Literal["on_track", "behind", "no_plan"]
    weeks: list[PlanWeekPublic]
    milestones: list[MilestoneTrack]


class BreakdownTrack(BaseModel):
    """A team's or a rep's own target for the same process and period, and its track."""

    target_id: int
    team: str | None
    owner: str | None
    value: float
    won: float
    status: PlanStatus
    summary: str
    milestones: list[MilestoneTrack]


class TargetPlan(BaseModel):
    target: TargetPublic
    as_of: IsoDateTime
    period_start: IsoDateTime
    period_end: IsoDateTime
    status: PlanStatus
    summary: str
    won: float
    won_deals: int
    remaining: float
    open_forecast: float
    """What every open deal of the target's scope is forecast to win inside the period."""
    gap: float
    """target - won - open_forecast (never below 0)."""
    win_value: float | None
    wins_needed: int | None
    """gap / win_value, rounded up: the new wins that close the gap on average."""
    reachable: bool
    unreachable_reason: str | None
    weeks: list[PlanWeekPublic]
    milestones: list[MilestonePlan]
    track: TrackPublic | None
    breakdown: list[BreakdownTrack]
    method: str
    rule: str
    data_age_seconds: DataAgeSeconds = None
