"""Targets as stored: set (create or replace), list, read, remove.

A target names a process by key (processes alike on several connections share it), a period,
a metric and its value, and optionally one team or one rep (the rep's CRM owner id). The
process, team and rep must be known: a process of an active ruleset version, a team and a
rep of the synced CRM users.

    target, created = set_target(session, TargetSet(process="smb", period="2026-Q3",
                                                    amount=250_000), created_by="ops key")
    list_targets(session, owner="005A")       # a rep's own
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequestError, NotFoundError
from app.models import CrmOwner, Process, RulesetActivation
from app.models.base import MAX_BIGINT
from app.models.targets import Target
from app.services.targets.periods import Period
from app.services.targets.public import TargetPublic, TargetSet

__all__ = [
    "breakdown_of",
    "current_targets",
    "get_target",
    "list_targets",
    "remove_target",
    "set_target",
]


def target_public(row: Target) -> TargetPublic:
    period = Period("month" if row.period_kind == "month" else "quarter", row.period_start)
    return TargetPublic(
        id=row.id,
        process=row.process_key,
        period=period.label,
        period_kind=period.kind,
        start=period.start,
        end=period.end,
        metric="amount" if row.metric == "amount" else "deals",
        value=float(row.value),
        team=row.team or None,
        owner=row.owner or None,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:10]) + (f" (and {len(names) - 10} more)" if len(names) > 10 else "")
    return shown or "none yet"


def _check_known(session: Session, body: TargetSet) -> None:
    active = select(RulesetActivation.ruleset_version_id).where(
        RulesetActivation.ended_at.is_(None)
    )
    processes = sorted(
        set(session.scalars(select(Process.key).where(Process.ruleset_version_id.in_(active))))
    )
    if body.process not in processes:
        raise InvalidRequestError(
            f"process: {body.process!r} is not a process of an active ruleset; active "
            f"processes: {_listing(processes)}"
        )
    if body.team is not None:
        teams = sorted({t for t in session.scalars(select(CrmOwner.team)) if t})
        if body.team not in teams:
            raise InvalidRequestError(f"team: no team {body.team!r}; teams: {_listing(teams)}")
    if body.owner is not None:
        found = session.scalar(select(CrmOwner.id).where(CrmOwner.external_id == body.owner))
        if found is None:
            raise InvalidRequestError(
                f"owner: no rep with CRM owner id {body.owner!r} among the synced users"
            )


def set_target(
    session: Session, body: TargetSet, created_by: str | None = None
) -> tuple[TargetPublic, bool]:
    """Create the target, or replace the value of the one with the same process, period,
    team and rep; returns it and whether it was created."""
    period = Period.parse(body.period)
    _check_known(session, body)
    metric = "amount" if body.amount is not None else "deals"
    value = body.amount if body.amount is not None else body.deals
    team, owner = body.team or "", body.owner or ""
    row = session.scalar(
        select(Target).where(
            Target.process_key == body.process,
            Target.period_kind == period.kind,
            Target.period_start == period.start,
            Target.team == team,
            Target.owner == owner,
        )
    )
    created = row is None
    if row is None:
        row = Target(
            process_key=body.process,
            period_kind=period.kind,
            period_start=period.start,
            team=team,
            owner=owner,
            created_by=created_by,
        )
        session.add(row)
    row.metric = metric
    row.value = Decimal(str(value))
    session.flush()
    session.refresh(row)
    return target_public(row), created


def list_targets(
    session: Session,
    *,
    process: str | None = None,
    period: Period | None = None,
    team: str | None = None,
    owner: str | None = None,
) -> list[TargetPublic]:
    """Targets, newest period first; each filter narrows (`owner`: a rep's own only)."""
    query = select(Target)
    if process is not None:
        query = query.where(Target.process_key == process)
    if period is not None:
        query = query.where(Target.period_kind == period.kind, Target.period_start == period.start)
    if team is not None:
        query = query.where(Target.team == team)
    if owner is not None:
        query = query.where(Target.owner == owner)
    query = query.order_by(
        Target.period_start.desc(), Target.process_key, Target.team, Target.owner, Target.id
    )
    return [target_public(row) for row in session.scalars(query)]


def current_targets(
    session: Session, now: datetime, *, process: str | None = None, owner: str | None = None
) -> list[TargetPublic]:
    """The targets of the quarter and the month holding `now` (quarters first)."""
    return [
        target
        for period in (Period.containing("quarter", now), Period.containing("month", now))
        for target in list_targets(session, process=process, period=period, owner=owner)
    ]


def _row(session: Session, target_id: int) -> Target:
    row = session.get(Target, target_id) if 0 < target_id <= MAX_BIGINT else None
    if row is None:
        raise NotFoundError(f"no target with id {target_id}")
    return row


def get_target(session: Session, target_id: int) -> TargetPublic:
    return target_public(_row(session, target_id))


def remove_target(session: Session, target_id: int) -> TargetPublic:
    row = _row(session, target_id)
    removed = target_public(row)
    session.execute(delete(Target).where(Target.id == target_id))
    return removed


def breakdown_of(session: Session, target: TargetPublic) -> list[TargetPublic]:
    """The team and rep targets under a process's target (same process and period)."""
    if target.team is not None or target.owner is not None:
        return []
    period = Period(target.period_kind, target.start)
    return [
        t
        for t in list_targets(session, process=target.process, period=period)
        if t.team is not None or t.owner is not None
    ]
