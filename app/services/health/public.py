"""What process health answers: the API's `response_model` and `milestones health --json`
print these models."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.core.timestamps import DataAgeSeconds, IsoDateTime
from app.kpis.backtest import CellSummary, Part
from app.services.kpis.filters import Filters
from app.services.mapping.preview_report import EvidenceLink, OpportunityRef

__all__ = ["Candidate", "CandidateEvidence", "CandidatesAnswer", "DriftAnswer", "Estimate"]
__all__ += ["CandidatesPending"]
__all__ += ["CellComparison", "MilestoneValue", "StepDrift", "ValueAnswer", "VersionScores"]
__all__ += ["VersionsCompared"]

Metric = Literal["conversion", "days_to_next", "created"]


class Estimate(BaseModel):
    """A share (conversion, 0..1) or a median (days) with its 95 % interval and sample."""

    model_config = ConfigDict(frozen=True)

    value: float
    low: float
    high: float
    deals: int


class StepDrift(BaseModel):
    """One test: a step's conversion within the horizon, its days to the next milestone among
    the deals that converted, or (metric `created`, on the step from `created`) the process's
    new deals a week; recent weeks against the baseline half-year before them."""

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
    pace: float | None = None
    """Conversion only: recent days to next over the baseline's; baseline conversion is read
    within `horizon_days` / `pace` for the test, so a slowdown is not taken for a drop."""
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
    """after - before: points of conversion (0..1), days, or new deals a week."""
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


class MilestoneValue(BaseModel):
    """What reaching one milestone tells about winning, against comparable deals that were at
    the milestone before it, as old there, and had not reached it yet."""

    model_config = ConfigDict(frozen=True)

    process: str
    milestone: str
    name: str
    previous: str
    """The milestone before it in the process (its key), or `created`."""
    previous_name: str
    reached_deals: int
    """Deals that reached it (open ones included)."""
    reached: Estimate | None
    """Chance of winning (within a year, open deals censored) of the deals that reached it
    straight from `previous`."""
    comparable: Estimate | None
    """The same chance for comparable deals that had not reached it yet, weighted like them."""
    lift: float | None
    """reached - comparable: points of win probability (0..1), with its 95 % interval."""
    lift_low: float | None
    lift_high: float | None
    ratio: float | None
    p_value: float | None
    verdict: Literal["adds information", "adds no information", "too few deals"]
    """`adds no information`: tested, and the lift is not clear over every test of the answer."""
    days_added: Estimate | None
    """Median days from `previous` to it (95 % interval), over the deals that took that step."""
    out_of_order: int
    """Deals that reached it only after a later milestone."""
    out_of_order_share: float | None
    often_out_of_order: bool
    summary: str


class ValueAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    filters: Filters
    as_of: IsoDateTime
    method: str
    false_discovery_rate: float
    milestones: list[MilestoneValue]
    no_information: list[str]
    """`process: milestone` of the milestones that add no information."""
    out_of_order: list[str]
    """`process: milestone` of the milestones often reached out of order."""
    data_age_seconds: DataAgeSeconds = None


class CandidateEvidence(BaseModel):
    """A record that shows the action: when, on which deal, and a link that opens it."""

    occurred_at: IsoDateTime
    opportunity: OpportunityRef
    evidence: EvidenceLink
    text: str
    """Its subject or title."""


class Candidate(BaseModel):
    """A customer action no rule maps whose occurrence predicts winning, with a milestone to
    paste into the process's rules."""

    process: str
    stream: str
    action: str
    """In words: the stream, its customer-side condition and what sets it apart."""
    key: str
    deals: int
    """Deals that showed it (open ones included)."""
    reached: Estimate | None
    """Chance of winning (within a year, open deals censored) of the deals that showed it."""
    comparable: Estimate | None
    lift: float
    lift_low: float
    lift_high: float
    ratio: float | None
    p_value: float
    after: str
    """The milestone deals were usually at when they showed it (or `created`): where the
    proposed milestone goes."""
    evidence: list[CandidateEvidence]
    rule_yaml: str
    """A milestone (a YAML list item) for the process's `milestones:`."""
    validates: bool
    """The active ruleset with this milestone inserted validates (fields, seller-side guard)."""
    problems: list[str]


class CandidatesAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["ready"] = "ready"
    """The answer for the KPI view's current generation (else `CandidatesPending`)."""
    filters: Filters
    as_of: IsoDateTime
    method: str
    records_scanned: int
    tested: int
    """Descriptions seen on enough deals to be valued."""
    candidates: list[Candidate]
    data_age_seconds: DataAgeSeconds = None


class CandidatesPending(BaseModel):
    """The candidates of the KPI view's current generation are being computed, off the
    request: ask again (`retry_after_seconds`) until `status` is `ready`."""

    model_config = ConfigDict(frozen=True)

    status: Literal["being computed"] = "being computed"
    filters: Filters
    as_of: IsoDateTime
    """The instant of the view the answer is being computed for."""
    note: str
    retry_after_seconds: int
    """When to ask again (also the `Retry-After` header)."""
    previous: CandidatesAnswer | None
    """The newest finished answer, of an earlier view generation (its own `as_of`), while
    the current one is computed; null before the first one is ready."""
    data_age_seconds: DataAgeSeconds = None


class VersionScores(BaseModel):
    """One side of the comparison: its backtest cells (every method's scores)."""

    ruleset: str
    versions: dict[str, int]
    """The active side: each connection's active version number."""
    origins: int
    note: str | None
    """Why there is nothing to score, when there is not."""
    cells: list[CellSummary]


class CellComparison(BaseModel):
    """One horizon, single month or cumulative, one part: the forecast's scores with the
    active version's milestones and with the draft's."""

    horizon_months: int
    cumulative: bool
    part: Part
    origins: int
    actual_won: float
    active_wape: float | None
    draft_wape: float | None
    active_coverage: float | None
    draft_coverage: float | None
    better: Literal["draft", "active", "same"] | None


class VersionsCompared(BaseModel):
    as_of: IsoDateTime
    method: str
    reading: str
    filters: Filters
    active: VersionScores
    draft: VersionScores
    active_wape: float | None
    """Mean WAPE over the cells of the deals open at each origin (horizons 1-3, single month and
    cumulative): the part a ruleset changes."""
    draft_wape: float | None
    better: Literal["draft", "active", "same"] | None
    verdict: str
    cells: list[CellComparison]
    data_age_seconds: DataAgeSeconds = None
