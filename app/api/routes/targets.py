"""Targets and the movement they require: managers and ops set and remove them, everyone
reads them, a rep only their own (another rep's target is a 404, naming another rep a 403).

The plan (`/targets/{id}/plan`) is computed over the KPI view like every KPI answer: at the
data clock, or at a past `as_of`, cached per view generation and target version, with the
`X-Data-Age-Seconds` header.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from app.api.answering import DATA_AGE_HEADER, AsOfQuery, answer, instant
from app.api.deps import DatabaseDep, KpiStoreDep, SessionDep, require
from app.core.database import Database
from app.core.errors import ForbiddenError, NotFoundError
from app.services.access.api_keys import Principal
from app.services.targets import records as service
from app.services.targets.periods import Period
from app.services.targets.plan import target_plan
from app.services.targets.public import TargetPlan, TargetPublic, TargetSet, TargetsPublic

router = APIRouter(prefix="/api/v1/targets", tags=["targets"])

Reader = Annotated[Principal, Depends(require("manager", "ops", "rep"))]
Writer = Annotated[Principal, Depends(require("manager", "ops"))]


def _visible(target: TargetPublic, principal: Principal) -> TargetPublic:
    if principal.role == "rep" and target.owner != principal.owner:
        raise NotFoundError(f"no target with id {target.id}")
    return target


@router.get("", response_model=TargetsPublic, summary="Targets (a rep's key: that rep's own)")
def list_targets(
    principal: Reader,
    session: SessionDep,
    process: Annotated[str | None, Query(description="Process key.")] = None,
    period: Annotated[str | None, Query(description="2026-03 or 2026-Q1.")] = None,
    team: Annotated[str | None, Query(description="Team name.")] = None,
    owner: Annotated[str | None, Query(description="The rep's CRM owner id.")] = None,
) -> TargetsPublic:
    if principal.role == "rep":
        if owner is not None and owner != principal.owner:
            raise ForbiddenError("owner: a rep's key sees only that rep's own targets")
        owner = principal.owner
    rows = service.list_targets(
        session,
        process=process,
        period=Period.parse(period) if period else None,
        team=team,
        owner=owner,
    )
    return TargetsPublic(data=rows, count=len(rows))


@router.post(
    "",
    response_model=TargetPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Set a target: created (201), or the same process, period, team and rep's "
    "value replaced (200)",
    responses={200: {"description": "Replaced", "model": TargetPublic}},
)
def set_target(
    body: TargetSet, principal: Writer, session: SessionDep, response: Response
) -> TargetPublic:
    target, created = service.set_target(session, body, created_by=principal.name)
    if not created:
        response.status_code = status.HTTP_200_OK
    return target


@router.get("/{target_id}", response_model=TargetPublic, summary="One target (404: another rep's)")
def get_target(target_id: int, principal: Reader, session: SessionDep) -> TargetPublic:
    return _visible(service.get_target(session, target_id), principal)


@router.delete("/{target_id}", response_model=TargetPublic, summary="Remove a target")
def remove_target(target_id: int, principal: Writer, session: SessionDep) -> TargetPublic:
    return service.remove_target(session, target_id)


def _load(
    database: Database, target_id: int, principal: Principal
) -> tuple[TargetPublic, list[TargetPublic]]:
    with database.sessions() as session:
        target = _visible(service.get_target(session, target_id), principal)
        children = service.breakdown_of(session, target) if principal.role != "rep" else []
    return target, children


@router.get(
    "/{target_id}/plan",
    response_model=TargetPlan,
    summary="The movement the target requires at every milestone, week by week, for 50 % "
    "and 80 %, and whether the team is on track",
    responses={
        200: {"description": "OK", "headers": {"X-Data-Age-Seconds": DATA_AGE_HEADER}},
    },
)
async def plan(
    target_id: int,
    principal: Reader,
    store: KpiStoreDep,
    database: DatabaseDep,
    as_of: AsOfQuery = None,
) -> Response:
    target, children = await run_in_threadpool(_load, database, target_id, principal)
    version = tuple((t.id, t.updated_at.timestamp(), t.value) for t in (target, *children))
    return await answer(
        store,
        ("target_plan", version),
        lambda snapshot: target_plan(snapshot, target, children),
        as_of=instant("as_of", as_of),
    )
