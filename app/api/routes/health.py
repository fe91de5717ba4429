"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import DatabaseDep, KpiStoreDep
from app.core.database import current_revision, head_revision
from app.core.errors import DatabaseError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str
    kpi_view_as_of: datetime | None = None
    """The data clock the KPI view answers as of (null while it loads)."""
    kpi_view_generation: int | None = None
    """Counts the view's refreshes: it grows when a finished pass has been taken in."""
    kpi_view_age_seconds: float | None = None
    """Seconds since the KPI view last matched the database: a watching view stays under a
    second behind every finished pipeline pass."""
    kpi_view_data_age_seconds: float | None = None
    """Seconds since the newest successful sync the view has taken in finished: every KPI
    answer's `data_age_seconds` (null before any sync)."""


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database is reachable and its schema is at the latest migration",
    responses={503: {"description": "Not ready", "content": {"application/problem+json": {}}}},
)
def readyz(database: DatabaseDep, store: KpiStoreDep) -> Readiness:
    database.check_reachable()
    try:
        revision = current_revision(database.engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read the schema revision: {exc.__class__.__name__}") from None
    expected = head_revision()
    if revision != expected:
        raise DatabaseError(
            f"database schema is at revision {revision or 'none'}, expected {expected}: "
            "run `milestones db upgrade`"
        )
    view = store.current
    return Readiness(
        status="ready",
        database=database.engine.dialect.name,
        schema_revision=revision,
        expected_revision=expected,
        kpi_view_as_of=view.as_of if view is not None else None,
        kpi_view_generation=view.generation if view is not None else None,
        kpi_view_age_seconds=store.age_seconds,
        kpi_view_data_age_seconds=store.data_age_seconds(),
    )
