"""The landing page: per process, the chain of milestones with this period's movement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.api.deps import DatabaseDep
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.models.base import MAX_INT
from app.services.targets.public import TargetSet
from app.services.targets.records import remove_target, set_target
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
        set_targets=True,
        window=filters.window(snapshot.as_of),
        previous=filters.window(snapshot.as_of, back=1),
    )


def _set(database: Database, form: dict[str, str], who: str) -> None:
    amount, deals = form.get("amount", "").strip(), form.get("deals", "").strip()
    try:
        body = TargetSet(
            process=form.get("process", ""),
            period=form.get("period", ""),
            amount=float(amount) if amount else None,
            deals=int(deals) if deals else None,
            team=form.get("team") or None,
            owner=form.get("owner") or None,
        )
    except (ValueError, ValidationError) as error:
        raise InvalidRequestError(f"the target cannot be set: {error}") from None
    with database.session() as session:
        set_target(session, body, created_by=who)


@router.post("/targets")
async def set_from_page(request: Request, viewer: ViewerDep, database: DatabaseDep) -> Response:
    """Set (or replace) a target, as `POST /api/v1/targets` does (managers)."""
    viewer.require("manager", "ops")
    form = {k: str(v) for k, v in (await request.form()).items()}
    await run_in_threadpool(_set, database, form, f"web {viewer.role}")
    return RedirectResponse("/#targets-heading", status_code=303)


def _remove(database: Database, target_id: int) -> None:
    with database.session() as session:
        remove_target(session, target_id)


@router.post("/targets/{target_id}/remove")
async def remove_from_page(
    viewer: ViewerDep, database: DatabaseDep, target_id: Annotated[int, Path(ge=1, le=MAX_INT)]
) -> Response:
    viewer.require("manager", "ops")
    await run_in_threadpool(_remove, database, target_id)
    return RedirectResponse("/#targets-heading", status_code=303)
