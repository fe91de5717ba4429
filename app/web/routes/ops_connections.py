"""The ops workbench's connections: sync status, lag, API calls, errors, quarantined records
and write-back runs with the records the CRM refused; sync now and write back now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from app.api.deps import DatabaseDep, SecretBoxDep, SettingsDep, kpi_store_of
from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.settings import Settings
from app.services.connections.registry import get_connection
from app.services.jobs.queue import enqueue
from app.services.sync.public import ConnectionFreshness
from app.services.sync.status import sync_status
from app.services.sync.usage import ApiUsage, QuarantinedPublic, api_usage, quarantined_records
from app.services.writeback.public import FailingRecordPublic, WritebackRunPublic
from app.services.writeback.runs import failing_records, list_runs, run_writeback
from app.web.deps import OPS_ROLES, ViewerDep, csrf_protect
from app.web.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])

WRITES_BACK = ("salesforce", "hubspot")
ConnectionName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]


@dataclass(frozen=True)
class ConnectionPanel:
    status: ConnectionFreshness
    usage: ApiUsage | None
    quarantined: int
    quarantine: list[QuarantinedPublic]
    runs: list[WritebackRunPublic]
    failures: list[FailingRecordPublic]

    @property
    def writes_back(self) -> bool:
        return self.status.kind in WRITES_BACK


def _panels(database: Database, settings: Settings) -> tuple[object, list[ConnectionPanel]]:
    status = sync_status(database, settings.kpi_as_of_value)
    usage = api_usage(database)
    panels = []
    for connection in status.connections:
        count, quarantine = quarantined_records(database, connection.name, limit=10)
        writes = connection.kind in WRITES_BACK
        panels.append(
            ConnectionPanel(
                connection,
                usage.get(connection.name),
                count,
                quarantine,
                list_runs(database, connection.name, 5) if writes else [],
                failing_records(database, connection.name, 20) if writes else [],
            )
        )
    return status, panels


@router.get("/ops/connections")
async def connections(
    request: Request, viewer: ViewerDep, database: DatabaseDep, settings: SettingsDep
) -> Response:
    viewer.require(*OPS_ROLES)
    status, panels = await run_in_threadpool(_panels, database, settings)
    params = request.query_params
    return render(
        request,
        "ops/connections.html",
        viewer,
        status=200,
        sync=status,
        panels=panels,
        queued=params.get("queued"),
        job=params.get("job"),
        written=params.get("written"),
        run=params.get("run"),
    )


def _queue(database: Database, name: str) -> int:
    with database.sessions() as session:
        connection_id = get_connection(session, name).id
    return enqueue(database, connection_id, "web")


@router.post("/ops/connections/{name}/sync")
async def sync_now(viewer: ViewerDep, database: DatabaseDep, name: ConnectionName) -> Response:
    """Queue a pipeline pass for the workers (merged into one already queued)."""
    viewer.require(*OPS_ROLES)
    job = await run_in_threadpool(_queue, database, name)
    return RedirectResponse(f"/ops/connections?queued={name}&job={job}#c-{name}", status_code=303)


def _write(request: Request, database: Database, box: SecretBox, name: str) -> int | None:
    report = run_writeback(database, box, name, store=kpi_store_of(request.app))
    return report.run_id


@router.post("/ops/connections/{name}/writeback")
async def writeback_now(
    request: Request,
    viewer: ViewerDep,
    database: DatabaseDep,
    box: SecretBoxDep,
    name: ConnectionName,
) -> Response:
    """Write the changed KPI fields into the CRM now (as `POST /api/v1/writeback/{name}`)."""
    viewer.require(*OPS_ROLES)
    run = await run_in_threadpool(_write, request, database, box, name)
    return RedirectResponse(
        f"/ops/connections?written={name}&run={run or ''}#c-{name}", status_code=303
    )
