"""Write-back for admins and ops: run it now (or as a dry run), see every run, the records
the CRM refused, and check or create the CRM fields it writes into."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from app.api.deps import DatabaseDep, KpiStoreDep, SecretBoxDep
from app.services.writeback.crm_fields import FieldsReport, setup_fields
from app.services.writeback.public import (
    FailingRecordsPublic,
    WritebackReport,
    WritebackRunsPublic,
)
from app.services.writeback.runs import failing_records, list_runs, run_writeback

router = APIRouter(prefix="/api/v1/writeback", tags=["write-back"])


@router.post(
    "/{connection}",
    response_model=WritebackReport,
    summary="Write the changed KPI fields into the CRM now",
)
def run(
    connection: str,
    database: DatabaseDep,
    box: SecretBoxDep,
    store: KpiStoreDep,
    dry_run: bool = Query(default=False, description="Compare only; write nothing."),
) -> WritebackReport:
    return run_writeback(database, box, connection, dry_run=dry_run, store=store)


@router.get("/runs", response_model=WritebackRunsPublic, summary="Write-back runs, newest first")
def runs(
    database: DatabaseDep,
    connection: str | None = Query(default=None, description="Only this connection (name)."),
    limit: int = Query(default=50, ge=1, le=500),
) -> WritebackRunsPublic:
    data = list_runs(database, connection, limit)
    return WritebackRunsPublic(data=data, count=len(data))


@router.get(
    "/{connection}/failures",
    response_model=FailingRecordsPublic,
    summary="Records the CRM refused, with its message and the next attempt",
)
def failures(
    connection: str,
    database: DatabaseDep,
    limit: int = Query(default=100, ge=1, le=1000),
) -> FailingRecordsPublic:
    data = failing_records(database, connection, limit)
    return FailingRecordsPublic(data=data, count=len(data))


@router.post(
    "/{connection}/fields",
    response_model=FieldsReport,
    summary="Check, or create, the write-back fields",
)
def fields(
    connection: str,
    database: DatabaseDep,
    box: SecretBoxDep,
    mode: Literal["check", "dry_run", "create"] = Query(default="check"),
) -> FieldsReport:
    return setup_fields(database, box, connection, mode)
