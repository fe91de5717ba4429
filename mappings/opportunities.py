"""What an opportunity or deal record says about itself: outcome, dates, amount, owner.

Outcomes come from the opportunity itself (Salesforce `IsWon` / `IsClosed`, HubSpot
`hs_is_closed_won` / `hs_is_closed`, or a closed-won / closed-lost stage), never from events.

    >>> facts = read_opportunity("hubspot", {"id": "7", "properties": {
    ...     "dealname": "Acme", "hs_is_closed_won": "true", "closedate": "2025-03-04T10:00:00Z"}})
    >>> facts.outcome, facts.closed_at.isoformat()
    ('won', '2025-03-04T10:00:00+00:00')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from mappings.catalog import HUBSPOT, Source
from mappings.links import association_ids
from mappings.values import to_bool, to_datetime, to_number

__all__ = ["CLOSE_GRACE", "OpportunityFacts", "Outcome", "is_deleted", "read_opportunity"]

Outcome = Literal["open", "won", "lost"]

CLOSE_GRACE = timedelta(days=1)
"""An action up to a day after the close still belongs to the deal: CRMs often keep only the
close *date* (HubSpot's `closedate` is midnight), and reps close a deal once the customer acted."""


@dataclass(frozen=True, slots=True)
class OpportunityFacts:
    external_id: str
    name: str
    account_id: str | None
    owner_id: str | None
    pipeline: str | None
    stage: str | None
    stage_probability: float | None
    """Percent, 0-100."""
    amount: float | None
    currency: str | None
    close_date: date | None
    outcome: Outcome
    closed_at: datetime | None
    created_at: datetime | None
    deleted: bool
    deleted_at: datetime | None = None
    """When a deleted opportunity was deleted in the CRM (None: not known, or not deleted)."""

    def alive_at(self, moment: datetime) -> bool:
        """Whether the CRM still held the opportunity at `moment`: not deleted, or deleted
        after it."""
        return not self.deleted or (self.deleted_at is not None and moment < self.deleted_at)

    def open_at(self, moment: datetime, *, held_at: datetime | None = None) -> bool:
        """Whether the opportunity existed and was not yet closed at `moment` (see CLOSE_GRACE);
        a deleted one never is, unless `held_at` is given and it was deleted after that
        instant (an export taken then holds it)."""
        if not (self.alive_at(held_at) if held_at is not None else not self.deleted):
            return False
        if self.created_at is not None and self.created_at > moment:
            return False
        return self.closed_at is None or self.closed_at + CLOSE_GRACE >= moment


def is_deleted(record: Mapping[str, Any]) -> bool:
    return to_bool(record.get("IsDeleted")) is True or to_bool(record.get("archived")) is True


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _day(value: Any) -> date | None:
    moment = to_datetime(value)
    return moment.date() if moment is not None else None


def read_opportunity(source: Source, record: Mapping[str, Any]) -> OpportunityFacts:
    if source == HUBSPOT:
        return _hubspot(record)
    return _salesforce(record)


def _salesforce(record: Mapping[str, Any]) -> OpportunityFacts:
    get = record.get
    won = to_bool(get("IsWon")) is True
    closed = won or to_bool(get("IsClosed")) is True
    outcome: Outcome = "won" if won else "lost" if closed else "open"
    closed_at = None
    if closed:
        closed_at = to_datetime(get("LastStageChangeDate")) or to_datetime(get("CloseDate"))
    return OpportunityFacts(
        external_id=str(get("Id") or ""),
        name=str(get("Name") or ""),
        account_id=_text(get("AccountId")),
        owner_id=_text(get("OwnerId")),
        pipeline=_text(get("RecordTypeId")) or _text(get("Type")),
        stage=_text(get("StageName")),
        stage_probability=to_number(get("Probability")),
        amount=to_number(get("Amount")),
        currency=_text(get("CurrencyIsoCode")),
        close_date=_day(get("CloseDate")),
        outcome=outcome,
        closed_at=closed_at,
        created_at=to_datetime(get("CreatedDate")),
        deleted=is_deleted(record),
    )


_WON_STAGES = frozenset({"closedwon"})
_LOST_STAGES = frozenset({"closedlost"})


def _hubspot(record: Mapping[str, Any]) -> OpportunityFacts:
    raw = record.get("properties")
    properties: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    get = properties.get
    stage = _text(get("dealstage"))
    won = to_bool(get("hs_is_closed_won"))
    closed = to_bool(get("hs_is_closed"))
    if won is None and closed is None:
        won = stage in _WON_STAGES
        closed = won or stage in _LOST_STAGES
    outcome: Outcome = "won" if won else "lost" if closed else "open"
    probability = to_number(get("hs_deal_stage_probability"))
    if probability is not None and probability <= 1:
        probability *= 100
    companies = association_ids(record, "companies")
    created = to_datetime(get("createdate")) or to_datetime(record.get("createdAt"))
    closed_at = None
    if outcome != "open":
        closed_at = to_datetime(get("closedate")) or to_datetime(get("hs_lastmodifieddate"))
    return OpportunityFacts(
        external_id=str(record.get("id") or ""),
        name=str(get("dealname") or ""),
        account_id=companies[0] if companies else None,
        owner_id=_text(get("hubspot_owner_id")),
        pipeline=_text(get("pipeline")),
        stage=stage,
        stage_probability=probability,
        amount=to_number(get("amount")),
        currency=_text(get("deal_currency_code")),
        close_date=_day(get("closedate")),
        outcome=outcome,
        closed_at=closed_at,
        created_at=created,
        deleted=is_deleted(record),
    )
