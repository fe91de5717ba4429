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
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.core.database import Database
from app.kpis.forecast import month_windows
from app.kpis.history import days_between
from app.kpis.model import Model
from app.models import Opportunity, OpportunityState, RawRecord, StreamCursor
from app.models.base import utcnow
from app.services.kpis.queries import opportunity_row
from app.services.kpis.snapshot import Snapshot

__all__ = [
    "FORECAST_HORIZON_MONTHS",
    "OpportunityExtras",
    "OpportunityValues",
    "account_values",
    "forecast_close_month",
    "iter_opportunity_values",
    "load_extras",
    "opportunity_values",
    "writeback_clock",
]

FORECAST_HORIZON_MONTHS = 24


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


def forecast_close_month(
    model: Model,
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
    eventual = model.win(process, position, days_at).value
    if eventual <= 0.0:
        return None
    half = eventual / 2.0
    for window in month_windows(as_of, horizon_months):
        end = days_between(as_of, window.end)
        if model.win_between(process, position, days_at, 0.0, end) >= half - 1e-12:
            return window.month
    return None


def writeback_clock(
    database: Database,
    connection_id: int,
    written: Iterable[str],
    now: datetime | None = None,
) -> datetime | None:
    """The CRM's clock for write-back values, read only from streams write-back never writes.

    Like the KPI view's data clock (`app.services.kpis.store.data_clock`): the newest record's
    CRM modification time L, stored at wall time S, says the CRM's clock now is L + (now - S).
    But the opportunities (deals) and accounts (companies) we write come back with the next
    sync stamped with the CRM's time of our write, which would move that clock by itself and
    with it the values; activities, contacts and the rest move only with the CRM. None when
    nothing was synced from them.
    """
    now = now or utcnow()
    skip = set(written)
    best: datetime | None = None
    with database.sessions() as session:
        streams = session.scalars(
            select(StreamCursor.stream).where(StreamCursor.connection_id == connection_id)
        ).all()
        for stream in streams:
            if stream in skip:
                continue
            newest = session.execute(
                select(RawRecord.modified_at, RawRecord.synced_at)
                .where(RawRecord.connection_id == connection_id, RawRecord.stream == stream)
                .order_by(RawRecord.modified_at.desc())
                .limit(1)
            ).first()
            if newest is None:
                continue
            lag = max(timedelta(0), newest.synced_at - newest.modified_at)
            clock = min(now, now - lag)
            best = clock if best is None or clock > best else best
    return best


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
        info = infos[key]
        row = opportunity_row(snapshot, deal, info, process, now)
        position = int(row["position"])
        current = process.at(position)
        percent = round(float(row["win_probability"]) * 100)
        if deal.is_open:
            days = days_between(info.current_since, now)
            month = forecast_close_month(snapshot.model, deal.process, position, days, now)
            guidance = str(row["guidance"] or "") or None
        else:
            closed = deal.closed_at or now
            days = days_between(info.current_since, max(closed, info.current_since))
            won = deal.outcome == "won" and deal.closed_at is not None
            month = date(closed.year, closed.month, 1) if won else None
            guidance = None
        values: dict[str, Any] = {
            "milestone_name": current.name if current is not None else None,
            "milestone_number": position,
            "last_customer_action_date": deal.last_action_at.date().isoformat()
            if deal.last_action_at is not None
            else None,
            "last_customer_action_kind": extra.last_action_kind,
            "days_at_milestone": math.floor(days),
            "win_probability": percent,
            "expected_value": round(deal.amount * percent / 100),
            "forecast_close_month": month.isoformat() if month is not None else None,
            "stalled": bool(row["stalled"]),
            "next_step": guidance,
        }
        yield OpportunityValues(
            key, info.external_id, extra.account_external_id, deal.is_open, position, values
        )


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
