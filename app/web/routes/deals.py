"""Deals: the stalled ones, ranked by the value at risk, and one opportunity's story."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import DatabaseDep
from app.core.errors import NotFoundError
from app.models.base import MAX_BIGINT
from app.services.kpis import queries
from app.services.kpis.rows import OpportunityKpis
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.timeline import opportunity_timeline
from app.web import charts
from app.web.deps import KPI_ROLES, Viewer, ViewerDep, csrf_protect, view_snapshot
from app.web.filters import FilterChoices, page_filters
from app.web.links import crm_links
from app.web.rendering import PageRoute, render
from app.web.views import cached

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])

PAGE = 50


@router.get("/stalled")
async def stalled(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    viewer.require(*KPI_ROLES)
    filters = await page_filters(request, viewer, database)
    store, snapshot = await view_snapshot(request)
    offset = (page - 1) * PAGE
    ranked = await cached(
        store,
        snapshot,
        ("stalled", filters, offset),
        lambda s: queries.stalled_at_risk(s, filters.kpi(), limit=PAGE, offset=offset),
    )
    links = await cached(store, snapshot, ("links",), lambda _s: crm_links(database))
    return render(
        request,
        "stalled.html",
        viewer,
        live=True,
        filters=filters,
        choices=FilterChoices.of(snapshot, viewer),
        periods=None,
        ranked=ranked,
        links=links,
        page=page,
        pages=max(1, -(-ranked.total // PAGE)),
        at_risk=sum(r.expected_value for r in ranked.data),
        next_names=_next_names(snapshot, ranked.data),
    )


def _next_names(snapshot: Snapshot, rows: list[OpportunityKpis]) -> dict[int, str]:
    """The name of the milestone each deal is to reach next."""
    processes = {p.key: p for p in snapshot.processes.values()}
    names = {}
    for row in rows:
        process = processes.get(row.process)
        following = process.after(row.position) if process else None
        if following is not None:
            names[row.id] = following.name
    return names


def _visible(viewer: Viewer, row: OpportunityKpis) -> None:
    """A rep opens only their own deals; another's is as unknown as a missing one."""
    if viewer.is_rep and row.owner != viewer.principal.owner:
        raise NotFoundError(f"no opportunity with id {row.id}")


@router.get("/opportunities/{opportunity_id}")
async def opportunity(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    opportunity_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)],
) -> Response:
    viewer.require(*KPI_ROLES)
    store, snapshot = await view_snapshot(request)
    row = queries.opportunity_detail(snapshot, opportunity_id)
    _visible(viewer, row)
    timeline = await run_in_threadpool(
        opportunity_timeline, database, opportunity_id, snapshot.versions
    )
    path = await cached(
        store,
        snapshot,
        ("win-path", opportunity_id),
        lambda s: queries.win_probability_path(s, opportunity_id),
    )
    links = await cached(store, snapshot, ("links",), lambda _s: crm_links(database))
    process = next(p for p in snapshot.processes.values() if p.key == row.process)
    following = process.after(row.position) if row.outcome == "open" else None
    chart = charts.lines(
        [p.at.strftime("%Y-%m-%d") for p in path],
        [charts.Series("Win probability", [p.win_probability for p in path], "s1")],
        title="Win probability over time (by today's model)",
        top=1.0,
    )
    return render(
        request,
        "opportunity.html",
        viewer,
        live=True,
        row=row,
        timeline=timeline,
        win_path=path,
        chart=chart,
        process=process,
        following=following,
        crm_url=links.opportunity(row.connection, row.external_id),
    )
