"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import DatabaseDep
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


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The database is reachable and its schema is at the latest migration",
    responses={503: {"description": "Not ready", "content": {"application/problem+json": {}}}},
)
def readyz(database: DatabaseDep) -> Readiness:
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
    return Readiness(
        status="ready",
        database=database.engine.dialect.name,
        schema_revision=revision,
        expected_revision=expected,
    )
