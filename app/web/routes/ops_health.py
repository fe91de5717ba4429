"""The ops workbench's process health: which steps drifted and since when, what each milestone
tells about winning, and unmapped customer actions proposed as milestones, each with a rule to
copy into the rules editor. The same services as `GET /api/v1/health/*`, once per view
generation; ops and managers read it, as in the API."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import DatabaseDep, keeper_of
from app.services.health.candidates import candidates_now
from app.services.health.drift import drift
from app.services.health.public import CandidatesPending, DriftAnswer, ValueAnswer
from app.services.health.value import milestone_value
from app.services.kpis.filters import Filters
from app.services.kpis.snapshot import Snapshot
from app.web.deps import OPS_ROLES, ViewerDep, csrf_protect, view_snapshot
from app.web.rendering import PageRoute, render
from app.web.views import cached

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])

READERS = (*OPS_ROLES, "manager")


@dataclass(frozen=True)
class HealthView:
    drift: DriftAnswer
    value: ValueAnswer


def _health(snapshot: Snapshot, filters: Filters) -> HealthView:
    return HealthView(drift(snapshot, filters), milestone_value(snapshot, filters))


def _filters(request: Request) -> Filters:
    return Filters(process=request.query_params.get("process") or None)


@router.get("/ops/health")
async def health(request: Request, viewer: ViewerDep) -> Response:
    """Drift and milestone value (milliseconds); the candidates load after the page."""
    viewer.require(*READERS)
    filters = _filters(request)
    process = filters.process
    store, snapshot = await view_snapshot(request)
    view = await cached(
        store, snapshot, ("ops-health", filters.key()), lambda s: _health(s, filters)
    )
    processes = sorted({p.key for p in snapshot.processes.values()})
    return render(
        request,
        "ops/health.html",
        viewer,
        live=True,
        view=view,
        processes=processes,
        process=process,
    )


@router.get("/ops/health/candidates")
async def health_candidates(request: Request, viewer: ViewerDep, database: DatabaseDep) -> Response:
    """Candidate milestones: a scan of the stored customer records, computed by the KPI
    keeper off the request once per view generation (the API's answer); until it is ready
    for the current generation the panel says it is being computed and asks again."""
    viewer.require(*READERS)
    filters = _filters(request)
    keeper = keeper_of(request.app)
    found = await run_in_threadpool(lambda: candidates_now(keeper, database, filters))
    if isinstance(found, CandidatesPending):
        return render(
            request,
            "ops/health_candidates.html",
            viewer,
            live=True,
            pending=found,
            c=found.previous,
            process=filters.process,
        )
    return render(request, "ops/health_candidates.html", viewer, live=True, pending=None, c=found)
