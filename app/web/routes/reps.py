"""Reps: each rep's progress, latest steps, deals by milestone and stalled deals.

Motivating, not surveillance: what customers did and what it added, never calls or e-mails
counted. A rep sees their own page only; managers find a rep by name, e-mail or CRM id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from app.api.deps import DatabaseDep
from app.core.database import Database
from app.core.errors import ForbiddenError, NotFoundError
from app.services.state.owners import RepRef, find_reps, list_reps
from app.web import charts
from app.web.deps import KPI_ROLES, ViewerDep, csrf_protect, view_snapshot
from app.web.filters import FilterChoices, page_filters
from app.web.links import crm_links
from app.web.rendering import PageRoute, render
from app.web.views import cached, current_target_plans, rep_view, reps_view, targets_stamp

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])


def _find(database: Database, who: str) -> list[RepRef]:
    with database.sessions() as session:
        return find_reps(session, who)


def _all(database: Database) -> list[RepRef]:
    with database.sessions() as session:
        return list_reps(session)


@router.get("/reps")
async def reps(request: Request, viewer: ViewerDep, database: DatabaseDep) -> Response:
    viewer.require(*KPI_ROLES)
    if viewer.is_rep:
        return RedirectResponse("/reps/me", status_code=303)
    filters = await page_filters(request, viewer, database)
    store, snapshot = await view_snapshot(request)
    everyone = await run_in_threadpool(_all, database)
    lines = await cached(
        store, snapshot, ("reps", filters), lambda s: reps_view(s, filters, everyone)
    )
    return render(
        request,
        "reps.html",
        viewer,
        live=True,
        filters=filters,
        choices=FilterChoices.of(snapshot, viewer),
        periods=None,
        lines=lines,
    )


@router.get("/reps/find")
async def find(
    viewer: ViewerDep,
    database: DatabaseDep,
    who: Annotated[str, Query(min_length=1, max_length=320)],
) -> Response:
    viewer.require(*KPI_ROLES)
    found = await run_in_threadpool(_find, database, who)
    if not found:
        raise NotFoundError(f"no rep has the CRM id, name or e-mail {who!r}")
    return RedirectResponse(f"/reps/{found[0].external_id}", status_code=303)


@router.get("/reps/{who}")
async def rep(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    who: Annotated[str, Path(min_length=1, max_length=320)],
) -> Response:
    viewer.require(*KPI_ROLES)
    if who == "me":
        if not viewer.is_rep or not viewer.principal.owner:
            return RedirectResponse("/reps", status_code=303)
        who = viewer.principal.owner
    found = await run_in_threadpool(_find, database, who)
    owner = found[0].external_id if found else who
    if viewer.is_rep and owner != viewer.principal.owner:
        raise ForbiddenError("a rep sees only their own page")
    store, snapshot = await view_snapshot(request)
    view = await cached(store, snapshot, ("rep", owner), lambda s: rep_view(s, owner))
    links = await cached(store, snapshot, ("links",), lambda _s: crm_links(database))
    plans = await cached(
        store,
        snapshot,
        ("targets", None, owner, await run_in_threadpool(targets_stamp, database)),
        lambda s: current_target_plans(database, s, process=None, owner=owner, rep=True),
    )
    chart = charts.bars(
        [week.strftime("%d %b") for week, _ in view.weeks],
        [value for _, value in view.weeks],
        title="Progress value per week",
    )
    return render(
        request,
        "rep.html",
        viewer,
        live=True,
        view=view,
        rep=found[0] if found else None,
        owner=owner,
        chart=chart,
        links=links,
        plans=plans,
    )
