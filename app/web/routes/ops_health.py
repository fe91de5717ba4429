"""The ops workbench's process health: which steps drifted and since when, what each milestone
tells about winning, and unmapped customer actions proposed as milestones, each with a rule to
copy into the rules editor. The same services as `GET /api/v1/health/*`, once per view
generation; ops and managers read it, as in the API."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import DatabaseDep
from app.services.health.candidates import candidates
from app.services.health.drift import drift
from app.services.health.public import DriftAnswer, ValueAnswer
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
    """Candidate milestones: a scan of the stored customer records, once per view generation."""
    viewer.require(*READERS)
    filters = _filters(request)
    store, snapshot = await view_snapshot(request)
    found = await cached(
        store,
        snapshot,
        ("ops-health-candidates", filters.key()),
        lambda s: candidates(database, s, filters),
    )
    return render(request, "ops/health_candidates.html", viewer, live=True, c=found)
