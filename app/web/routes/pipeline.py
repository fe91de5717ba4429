"""The landing page: per process, the chain of milestones with this period's movement."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from app.api.deps import DatabaseDep
from app.web.deps import ViewerDep, csrf_protect, view_snapshot
from app.web.filters import PERIODS, FilterChoices, page_filters
from app.web.rendering import PageRoute, render
from app.web.views import cached, current_target_plans, pipeline_view, targets_stamp

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])


@router.get("/")
async def pipeline(request: Request, viewer: ViewerDep, database: DatabaseDep) -> Response:
    if not viewer.reads_kpis:
        return RedirectResponse(viewer.home, status_code=303)
    filters = await page_filters(request, viewer, database)
    store, snapshot = await view_snapshot(request)
    view = await cached(store, snapshot, ("pipeline", filters), lambda s: pipeline_view(s, filters))
    mine = viewer.principal.owner if viewer.is_rep else None
    plans = await cached(
        store,
        snapshot,
        ("targets", filters.process, mine, await run_in_threadpool(targets_stamp, database)),
        lambda s: current_target_plans(
            database, s, process=filters.process, owner=mine, rep=viewer.is_rep
        ),
    )
    return render(
        request,
        "pipeline.html",
        viewer,
        live=True,
        filters=filters,
        choices=FilterChoices.of(snapshot, viewer),
        periods=PERIODS,
        view=view,
        plans=plans,
        window=filters.window(snapshot.as_of),
        previous=filters.window(snapshot.as_of, back=1),
    )
