"""Opportunity state: where each opportunity stands, kept up to date as events arrive.

One row per opportunity, for the ruleset version active on its connection: the first time
each position of its process was reached (`reached`, position -> ISO instant), the current
(highest) position and since when, the last customer action, and what the CRM says
(outcome, amount, owner, team, stage probability and close date for the baseline). Mapping
runs call `refresh_states` with the opportunities whose events or CRM record changed, inside
the transaction that wrote them; a full run and an activation call `rebuild_states`. Reads
never scan events.

    refresh_states(db, version_id, connection_id, {12, 13})  # only these opportunities
    rebuild_states(db, version_id, connection_id)            # all of a connection (activation)
    refresh_teams(db, connection_id)             # reps moved to another team
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import Table, delete, select, update

from app.models import (
    CrmOwner,
    Milestone,
    MilestoneEvent,
    Opportunity,
    OpportunityProcess,
    OpportunityState,
    Process,
)
from app.models.base import utcnow
from app.services.mapping.index import chunks, upsert
from app.services.state.active import active_version_of

__all__ = ["clear_states", "rebuild_states", "refresh_states", "refresh_teams", "segment_of"]

_STATES: Table = OpportunityState.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class _MilestoneInfo:
    process_id: int
    position: int
    kind: str


def segment_of(selector: dict[str, Any]) -> str | None:
    """The segment a process serves, as its selector names it (e.g. `Segment__c: SMB`)."""
    segment = selector.get("segment", selector)
    if not isinstance(segment, dict):
        return None
    for name, value in segment.items():
        if "segment" in str(name).lower() and isinstance(value, str | int | float):
            return str(value)
    for value in segment.values():
        if isinstance(value, str):
            return value
    return None


class _Version:
    def __init__(self, db: DbConnection, version_id: int) -> None:
        self.id = version_id
        rows = db.execute(
            select(Milestone.id, Milestone.process_id, Milestone.position, Milestone.kind)
            .join(Process, Process.id == Milestone.process_id)
            .where(Process.ruleset_version_id == version_id)
        )
        self.milestones = {r[0]: _MilestoneInfo(r[1], r[2], r[3]) for r in rows}
        self.by_position = {(m.process_id, m.position): mid for mid, m in self.milestones.items()}
        self.segments = {
            r[0]: segment_of(r[1] or {})
            for r in db.execute(
                select(Process.id, Process.segment_selector).where(
                    Process.ruleset_version_id == version_id
                )
            )
        }


def _is_active(db: DbConnection, version_id: int, connection_id: int) -> bool:
    return active_version_of(db, connection_id) == version_id


def _state_rows(db: DbConnection, version: _Version, ids: Sequence[int]) -> list[dict[str, Any]]:
    opportunities = db.execute(
        select(
            Opportunity.id,
            Opportunity.connection_id,
            Opportunity.outcome,
            Opportunity.closed_at,
            Opportunity.amount,
            Opportunity.owner_id,
            Opportunity.crm_created_at,
            Opportunity.deleted,
            Opportunity.stage_probability,
            Opportunity.close_date,
        ).where(Opportunity.id.in_(ids))
    ).all()
    processes: dict[int, int] = {
        row[0]: row[1]
        for row in db.execute(
            select(OpportunityProcess.opportunity_id, OpportunityProcess.process_id).where(
                OpportunityProcess.ruleset_version_id == version.id,
                OpportunityProcess.opportunity_id.in_(ids),
            )
        )
    }
    owner_ids = {row[5] for row in opportunities if row[5] is not None}
    teams: dict[int, str | None] = {}
    if owner_ids:
        teams = {
            row[0]: row[1]
            for row in db.execute(
                select(CrmOwner.id, CrmOwner.team).where(CrmOwner.id.in_(owner_ids))
            )
        }
    events: dict[int, list[tuple[datetime, int]]] = {}
    for opportunity_id, milestone_id, occurred_at in db.execute(
        select(
            MilestoneEvent.opportunity_id, MilestoneEvent.milestone_id, MilestoneEvent.occurred_at
        ).where(
            MilestoneEvent.ruleset_version_id == version.id,
            MilestoneEvent.opportunity_id.in_(ids),
        )
    ):
        events.setdefault(opportunity_id, []).append((occurred_at, milestone_id))
    now = utcnow()
    rows = []
    for (
        opportunity_id,
        connection_id,
        outcome,
        closed_at,
        amount,
        owner_id,
        created_at,
        deleted,
        probability,
        close_date,
    ) in opportunities:
        process_id = processes.get(opportunity_id)
        first: dict[int, datetime] = {}
        last: tuple[datetime, int] | None = None
        for occurred_at, milestone_id in sorted(events.get(opportunity_id, ())):
            info = version.milestones.get(milestone_id)
            if info is None or info.process_id != process_id:
                continue
            first.setdefault(info.position, occurred_at)
            last = (occurred_at, milestone_id)
        position, since = 0, created_at
        for reached_position, at in sorted(first.items(), key=lambda item: item[1]):
            if reached_position > position:
                position, since = reached_position, at
        rows.append(
            {
                "opportunity_id": opportunity_id,
                "ruleset_version_id": version.id,
                "process_id": process_id,
                "current_milestone_id": version.by_position.get((process_id or 0, position)),
                "current_position": position,
                "current_since": since,
                "reached": {str(p): at.isoformat() for p, at in sorted(first.items())},
                "last_customer_action_at": last[0] if last else None,
                "last_customer_action_kind": version.milestones[last[1]].kind if last else None,
                "outcome": outcome,
                "closed_at": closed_at,
                "amount": amount,
                "owner_id": owner_id,
                "team": teams.get(owner_id) if owner_id is not None else None,
                "segment": version.segments.get(process_id) if process_id else None,
                "note": None,
                "updated_at": now,
                "connection_id": connection_id,
                "created_at": created_at,
                "deleted": deleted,
                "stage_probability": probability,
                "close_date": close_date,
            }
        )
    return rows


def _write(db: DbConnection, version: _Version, ids: Iterable[int]) -> int:
    ordered = sorted(set(ids))
    written = 0
    for chunk in chunks(ordered):
        rows = _state_rows(db, version, chunk)
        if rows:
            upsert(
                db,
                _STATES,
                rows,
                ("opportunity_id",),
                [k for k in rows[0] if k != "opportunity_id"],
            )
        written += len(rows)
    return written


def refresh_states(
    db: DbConnection, version_id: int, connection_id: int, opportunity_ids: Iterable[int]
) -> int:
    """Recompute the state of these opportunities of a connection, if `version_id` is the
    version active on it."""
    ids = set(opportunity_ids)
    if not ids or not _is_active(db, version_id, connection_id):
        return 0
    return _write(db, _Version(db, version_id), ids)


def rebuild_states(db: DbConnection, version_id: int, connection_id: int) -> int:
    """Recompute every state of a connection, if `version_id` is the version active on it;
    states another version left there go."""
    if not _is_active(db, version_id, connection_id):
        return 0
    ids = list(
        db.execute(
            select(Opportunity.id).where(Opportunity.connection_id == connection_id)
        ).scalars()
    )
    db.execute(
        delete(OpportunityState).where(
            OpportunityState.connection_id == connection_id,
            OpportunityState.ruleset_version_id != version_id,
        )
    )
    return _write(db, _Version(db, version_id), ids)


def clear_states(db: DbConnection, connection_id: int) -> int:
    """Forget a connection's states: no ruleset serves it any more."""
    return db.execute(
        delete(OpportunityState).where(OpportunityState.connection_id == connection_id)
    ).rowcount


def refresh_teams(db: DbConnection, connection_id: int) -> int:
    """Give the state rows of each rep's opportunities the rep's current team, where it
    changed (a rep moved team in the CRM); returns how many rows changed."""
    changed = 0
    now = utcnow()
    owners = db.execute(
        select(CrmOwner.id, CrmOwner.team).where(CrmOwner.connection_id == connection_id)
    ).all()
    for owner_id, team in owners:
        result = db.execute(
            update(OpportunityState)
            .where(
                OpportunityState.owner_id == owner_id,
                OpportunityState.team.is_distinct_from(team),
            )
            .values(team=team, updated_at=now)
        )
        changed += result.rowcount
    return changed
