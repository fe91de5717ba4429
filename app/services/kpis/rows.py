"""One opportunity as the KPIs see it, and the pages of them the API answers.

`OpportunityKpis` is the one row every door reads: the API's tables and detail, the
scorecard's stalled deals and write-back's CRM field values (`crm_values`) are all built from
it, so a rep sees in the CRM exactly what the API answers. Rows are slotted dataclasses that
orjson writes natively: a page of a thousand rows is never validated field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from app.core.timestamps import DataAgeSeconds, IsoDateTime

__all__ = [
    "Evidence",
    "OpportunityDetail",
    "OpportunityKpis",
    "OpportunityPage",
    "OpportunityTable",
    "TimelineEvent",
]


@dataclass(frozen=True, slots=True)
class OpportunityKpis:
    id: int
    external_id: str
    name: str
    connection: str | None
    process: str
    segment: str | None
    owner: str | None
    """The owner's CRM id."""
    owner_name: str | None
    team: str | None
    outcome: str
    amount: float
    milestone: str
    """The milestone it stands at, or `created` before the first."""
    milestone_name: str | None
    position: int
    days_at_milestone: float
    forecast_close_month: date | None
    """The month it is forecast to be won (open), the month it was won, or None (lost)."""
    last_customer_action_at: IsoDateTime | None
    win_probability: float
    """P(won eventually); while open never 0 or 1."""
    win_probability_based_on_deals: int | None
    """How many deals of history the open deal's win probability rests on (None if closed)."""
    expected_value: float
    stalled: bool
    stall_threshold_days: float | None
    next_milestone: str | None
    guidance: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """The CRM record that proves a milestone."""

    stream: str
    external_id: str
    url: str | None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    occurred_at: IsoDateTime
    milestone: str
    name: str
    kind: str
    rule: str
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class OpportunityDetail(OpportunityKpis):
    """One opportunity's row with the data clock it was read at and its milestone timeline."""

    as_of: IsoDateTime
    timeline: list[TimelineEvent]
    data_age_seconds: DataAgeSeconds = None

    @classmethod
    def of(
        cls, row: OpportunityKpis, as_of: IsoDateTime, timeline: list[TimelineEvent]
    ) -> OpportunityDetail:
        values = {f.name: getattr(row, f.name) for f in fields(OpportunityKpis)}
        return cls(**values, as_of=as_of, timeline=timeline)


@dataclass(frozen=True, slots=True)
class OpportunityPage:
    """Rows in id order; `next_after` is the id to continue after, None on the last page."""

    data: list[OpportunityKpis]
    total: int
    next_after: int | None


@dataclass(frozen=True, slots=True)
class OpportunityTable:
    """A page as the API answers it: `next_cursor` is opaque to clients."""

    data: list[OpportunityKpis]
    count: int
    total: int
    next_cursor: str | None
    as_of: IsoDateTime
    """The data clock the rows are computed at, as every KPI answer says."""
    data_age_seconds: DataAgeSeconds = None
