"""The ops workbench's process health: which steps drifted and since when, what each milestone
tells about winning, and unmapped customer actions proposed as milestones, each with a rule to
copy into the rules editor. The same services as `GET /api/v1/health/*`, once per view
generation; ops and managers read it, as in the API."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import DatabaseDep
from app.core.database import Database
from app.services.health.candidates import candidates
from app.services.health.drift import drift
from app.services.health.public import CandidatesAnswer, DriftAnswer, ValueAnswer
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
    candidates: CandidatesAnswer


def _health(database: Database, snapshot: Snapshot, filters: Filters) -> HealthView:
    return HealthView(
        drift(snapshot, filters),
        milestone_value(snapshot, filters),
        candidates(database, snapshot, filters),
    )


@router.get("/ops/health")
async def health(request: Request, viewer: ViewerDep, database: DatabaseDep) -> Response:
    viewer.require(*READERS)
    process = request.query_params.get("process") or None
    filters = Filters(process=process)
    store, snapshot = await view_snapshot(request)
    view = await cached(
        store, snapshot, ("ops-health", filters.key()), lambda s: _health(database, s, filters)
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
