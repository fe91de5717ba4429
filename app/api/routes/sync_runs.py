"""Sync runs and freshness: what every sync did, and how fresh each connection is now."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.api.deps import DatabaseDep, SessionDep, SettingsDep
from app.models import RunStatus
from app.models.base import MAX_BIGINT
from app.services.sync.public import SyncRunsPublic, SyncStatus
from app.services.sync.status import list_runs, sync_status

router = APIRouter(prefix="/api/v1", tags=["sync"])


@router.get("/sync-runs", response_model=SyncRunsPublic, summary="Sync runs, newest first")
def sync_runs(
    session: SessionDep,
    connection: str | None = Query(default=None, description="Only this connection (name)."),
    status: RunStatus | None = Query(default=None),
    trigger: str | None = Query(default=None, max_length=32, examples=["webhook"]),
    before: int | None = Query(
        default=None, ge=1, le=MAX_BIGINT, description="Page back: runs older than this id."
    ),
    limit: int = Query(default=50, ge=1, le=500),
) -> SyncRunsPublic:
    data = list_runs(
        session, connection=connection, status=status, trigger=trigger, before=before, limit=limit
    )
    next_before = data[-1].id if len(data) == limit else None
    return SyncRunsPublic(data=data, count=len(data), next_before=next_before)


@router.get(
    "/sync-status",
    response_model=SyncStatus,
    summary="Per connection: last run and per-stream runs, lag, next run, errors; the scheduler",
)
def sync_status_route(database: DatabaseDep, settings: SettingsDep) -> SyncStatus:
    return sync_status(database, settings.kpi_as_of_value)
