"""What each KPI answers: funnel, movement, velocity, forecast and a rep's scorecard.

The API writes these with orjson (dataclasses natively, fast) and documents them as its
`response_model`; values are rounded here, once, to what the answer shows. Each ends with
`data_age_seconds`, which moves every second: the API writes it as it sends an answer. Velocity is a
pydantic model because one of its fields is called `from`, which no dataclass can name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.timestamps import DataAgeSeconds, IsoDateTime
from app.kpis.calibration import Correction
from app.kpis.conversion import Conversion
from app.kpis.forecast import MonthForecast
from app.services.kpis.breakdowns import MilestoneForecast
from app.services.kpis.filters import Filters
from app.services.kpis.rows import OpportunityKpis

__all__ = [
    "BandCalibration",
    "Bucket",
    "ConversionAnswer",
    "ForecastAnswer",
    "ForecastMonth",
    "FunnelAnswer",
    "FunnelStep",
    "MovementAnswer",
    "ProcessFunnel",
    "ProcessHalfLife",
    "ProcessMovement",
    "ProcessVelocity",
    "RepMovement",
    "Scorecard",
    "TeamMovement",
    "VelocityAnswer",
    "VelocityStep",
]

Bucket = Literal["week", "month"]


# -- funnel ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversionAnswer:
    """Conversion from a milestone, open deals censored, with the counts beside the estimate."""

    estimate: float | None
    cohort: int
    converted: int
    closed_without: int
    open_censored: int

    @classmethod
    def of(cls, conversion: Conversion) -> ConversionAnswer:
        estimate = conversion.estimate
        return cls(
            None if estimate is None else round(estimate, 4),
            conversion.reached,
            conversion.converted,
            conversion.failed,
            conversion.censored,
        )


@dataclass(frozen=True, slots=True)
class FunnelStep:
    milestone: str
    """The milestone's key, or `created` for the step every opportunity starts at."""
    name: str
    position: int
    kind: str | None
    reached: int
    conversion_to_next: ConversionAnswer | None
    next_milestone: str | None
    conversion_to_won: ConversionAnswer


@dataclass(frozen=True, slots=True)
class ProcessFunnel:
    process: str
    name: str
    milestones: list[FunnelStep]
    ruleset_versions: list[int]
    """The active ruleset versions whose process this is: connections whose rule files
    describe a process alike (same key, same milestones) are counted together."""


@dataclass(frozen=True, slots=True)
class FunnelAnswer:
    filters: Filters
    as_of: IsoDateTime
    as_of_source: str
    method: str
    censoring: str
    processes: list[ProcessFunnel]
    data_age_seconds: DataAgeSeconds = None


# -- movement -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepMovement:
    period: date
    """The first day of the week (Monday) or month."""
    rep: str | None
    advances: int
    progress_value: float
    rep_name: str | None


@dataclass(frozen=True, slots=True)
class TeamMovement:
    period: date
    team: str | None
    advances: int
    progress_value: float


@dataclass(frozen=True, slots=True)
class ProcessMovement:
    period: date
    process: str | None
    advances: int
    progress_value: float


@dataclass(frozen=True, slots=True)
class MovementAnswer:
    filters: Filters
    by: Bucket
    start: IsoDateTime
    end: IsoDateTime
    as_of: IsoDateTime
    progress_value: str
    """How progress value is computed."""
    per_rep: list[RepMovement]
    per_team: list[TeamMovement]
    per_process: list[ProcessMovement]
    data_age_seconds: DataAgeSeconds = None


# -- velocity -------------------------------------------------------------------------------------


class VelocityStep(BaseModel):
    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    median_days: float | None
    p80_days: float | None
    sample: int
    advanced: int
    closed_without_advancing: int
    open_censored: int


class ProcessVelocity(BaseModel):
    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    process: str
    name: str
    steps: list[VelocityStep]
    ruleset_versions: list[int]


class VelocityAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    filters: Filters
    as_of: IsoDateTime
    method: str
    processes: list[ProcessVelocity]
    data_age_seconds: DataAgeSeconds = None


# -- forecast -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForecastMonth:
    month: str
    """`YYYY-MM`."""
    expected_amount: float
    expected_count: float
    p10_amount: float
    p90_amount: float
    p10_count: float
    p90_count: float
    new_pipeline_amount: float
    baseline_weighted_pipeline: float
    band_scale: float
    """How much wider (above 1) or narrower (below 1) the P10-P90 band is drawn than the
    model's own variance says, as the history's backtest errors asked (`band_calibration`)."""

    @classmethod
    def of(cls, forecast: MonthForecast, baseline: float) -> ForecastMonth:
        """The month's forecast as the answer shows it, beside the CRM's weighted pipeline."""
        return cls(
            forecast.month.strftime("%Y-%m"),
            round(forecast.expected_amount, 2),
            round(forecast.expected_count, 2),
            round(forecast.p10_amount, 2),
            round(forecast.p90_amount, 2),
            round(forecast.p10_count, 2),
            round(forecast.p90_count, 2),
            round(forecast.new_pipeline_amount, 2),
            round(baseline, 2),
            round(forecast.band_scale, 3),
        )


@dataclass(frozen=True, slots=True)
class BandCalibration:
    """How sure the band is: the correction the history's own backtest asked of it, per month
    ahead (horizon 1 is this month) and part (deals open now, deals not yet created, total;
    the total's is the one the months' band is drawn with), and how many past origins whose
    outcome is known it rests on."""

    state: Literal["calibrated", "being computed", "no backtest"]
    """`being computed`: the backtest behind it is not ready yet, the band is the model's own;
    `no backtest`: too little history before any origin to score one."""
    note: str
    corrections: list[Correction]
    """Single months only; `scale` is applied, `raw_scale` is what the month's past errors
    alone ask, `prior_scale` what the errors of every horizon ask together (`scale` is shrunk
    towards it for few origins), `past_coverage` is the share of the month's outcomes the
    model's own band held (0.80 claimed)."""


@dataclass(frozen=True, slots=True)
class ProcessHalfLife:
    """The recency half-life a process's model used: `half_life_days` (None: every deal
    alike) and why: `set` (by ops, in the ruleset's `half_life_days`), `auto` (chosen by a
    backtest of the process's history before the as-of) or `default` (365 days)."""

    process: str
    version: int
    half_life_days: float | None
    why: Literal["set", "auto", "default"]


@dataclass(frozen=True, slots=True)
class ForecastAnswer:
    filters: Filters
    as_of: IsoDateTime
    open_opportunities: int
    includes_new_pipeline: bool
    method: str
    baseline_method: str
    months: list[ForecastMonth]
    by_milestone: list[MilestoneForecast]
    """Each month's expected amount from the open deals, split by the milestone they stand at
    (the rest of `expected_amount` is `new_pipeline_amount`: deals not yet created)."""
    too_little_history: str | None
    """Said when the history of the processes forecast is too small to forecast well: what
    there is and about how many more closed deals the forecast needs, derived from the win
    rates the history shows per milestone (`app.kpis.sufficiency`). None when it is enough."""
    closed_deals_needed: int | None
    """Closed deals from which the milestones tell winners from losers beyond their own
    noise, at the win rates the history shows (None: it cannot say yet)."""
    half_lives: list[ProcessHalfLife]
    """Each process forecast: the recency half-life its model used, and why."""
    band_calibration: BandCalibration | None = None
    """The band's correction by the history's own backtest errors (None: not asked)."""
    data_age_seconds: DataAgeSeconds = None


# -- scorecard ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A rep's own KPIs: progress this week and month, the open pipeline, the stalled deals."""

    rep: str
    as_of: IsoDateTime
    rep_name: str | None
    progress_value_week: float
    advances_week: int
    progress_value_month: float
    advances_month: int
    open_opportunities: int
    expected_value_open: float
    stalled: list[OpportunityKpis]
    data_age_seconds: DataAgeSeconds = None
