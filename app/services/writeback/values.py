"""The values write-back puts on each opportunity and account: computed in this one place.

Everything comes from opportunity state (where the deal stands, maintained from milestone
events) and the fitted KPI model, through the KPI service's own `opportunity_row`; nothing is
read from the CRM record itself, so a value this product wrote can never feed back into it.

Values are rounded to what a rep reads, so that they change when the KPI really moves, not
with every refit of the model: win probability in whole percent, expected value in whole
currency units (from the rounded probability), days at the milestone in whole days (frozen at
closing), dates as days and months.

    rows = opportunity_values(snapshot, connection_id, extras, now)
    accounts = account_values(rows)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.core.database import Database
from app.models import Opportunity, OpportunityState
from app.services.kpis.queries import opportunity_row
from app.services.kpis.rows import OpportunityKpis
from app.services.kpis.snapshot import Snapshot

__all__ = [
    "OpportunityExtras",
    "OpportunityValues",
    "account_values",
    "crm_values",
    "iter_opportunity_values",
    "load_extras",
    "opportunity_values",
]


@dataclass(frozen=True, slots=True)
class OpportunityExtras:
    """What the KPI store does not keep: the kind of the last customer action, the account."""

    last_action_kind: str | None
    account_external_id: str | None


@dataclass(frozen=True, slots=True)
class OpportunityValues:
    opportunity_id: int
    external_id: str
    account_external_id: str | None
    is_open: bool
    position: int
    values: dict[str, Any]
    """By field key (`app.services.writeback.fields.FieldKey`), CRM-neutral JSON values."""


def load_extras(
    database: Database, connection_id: int, version_id: int | None
) -> dict[int, OpportunityExtras]:
    """Last customer action kind and account of every opportunity of the connection."""
    if version_id is None:
        return {}
    with database.sessions() as session:
        rows = session.execute(
            select(
                OpportunityState.opportunity_id,
                OpportunityState.last_customer_action_kind,
                Opportunity.account_external_id,
            )
            .join(Opportunity, Opportunity.id == OpportunityState.opportunity_id)
            .where(
                OpportunityState.connection_id == connection_id,
                OpportunityState.ruleset_version_id == version_id,
            )
        )
        return {row[0]: OpportunityExtras(row[1], row[2]) for row in rows}


def opportunity_values(
    snapshot: Snapshot,
    connection_id: int,
    extras: dict[int, OpportunityExtras],
    now: datetime,
) -> list[OpportunityValues]:
    """The field values of every opportunity of the connection that is in a sales process."""
    return list(iter_opportunity_values(snapshot, connection_id, extras, now))


def iter_opportunity_values(
    snapshot: Snapshot,
    connection_id: int,
    extras: dict[int, OpportunityExtras],
    now: datetime,
) -> Iterator[OpportunityValues]:
    """`opportunity_values` one at a time, in opportunity id order: a write-back run sends the
    first batches while the rest are still being computed."""
    deals, infos = snapshot.deals, snapshot.info
    for key in sorted(extras):  # the connection's opportunities, and no others
        extra = extras[key]
        deal = deals.get(key)
        if deal is None or deal.connection != connection_id or deal.process is None:
            continue
        process = snapshot.processes.get(deal.process)
        if process is None:
            continue
        row = opportunity_row(snapshot, deal, infos[key], process, now)
        yield OpportunityValues(
            key,
            infos[key].external_id,
            extra.account_external_id,
            deal.is_open,
            row.position,
            crm_values(row, extra.last_action_kind),
        )


def crm_values(row: OpportunityKpis, last_action_kind: str | None) -> dict[str, Any]:
    """The fields of one opportunity as the CRM shows them: its KPI row (what the API answers
    for it), rounded the way a rep reads it — never computed a second time."""
    percent = round(row.win_probability * 100)
    if row.outcome == "open":  # an open deal is never shown as 0 % or 100 %
        percent = min(max(percent, 1), 99)
    last_action = row.last_customer_action_at
    close_month = row.forecast_close_month
    return {
        "milestone_name": row.milestone_name,
        "milestone_number": row.position,
        "last_customer_action_date": last_action.date().isoformat() if last_action else None,
        "last_customer_action_kind": last_action_kind,
        "days_at_milestone": math.floor(row.days_at_milestone),
        "win_probability": percent,
        "expected_value": round(row.amount * percent / 100),
        "forecast_close_month": close_month.isoformat() if close_month else None,
        "stalled": row.stalled,
        "next_step": row.guidance or None,  # none once closed (`next_step`)
    }


def account_values(opportunities: Iterable[OpportunityValues]) -> dict[str, dict[str, Any]]:
    """Per account: its open opportunities, their expected value, the stalled ones, and the
    furthest milestone any of them has reached."""
    accounts: dict[str, dict[str, Any]] = {}
    furthest: dict[str, int] = {}
    for row in opportunities:
        account = row.account_external_id
        if not account:
            continue
        values = accounts.setdefault(
            account,
            {
                "account_open_opportunities": 0,
                "account_expected_value": 0,
                "account_stalled_opportunities": 0,
                "account_furthest_milestone": None,
            },
        )
        if not row.is_open:
            continue
        values["account_open_opportunities"] += 1
        values["account_expected_value"] += row.values["expected_value"]
        values["account_stalled_opportunities"] += int(row.values["stalled"])
        name = row.values["milestone_name"]
        if name is not None and row.position > furthest.get(account, 0):
            furthest[account] = row.position
            values["account_furthest_milestone"] = name
    return accounts
