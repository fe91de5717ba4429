"""Replication windows: the ids updated, and the records deleted, between `start` and `end`.

Salesforce keeps 30 days of them (15 for deletes); `end` is capped at the org's now.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.salesforce.deps import Authed, SObject, StoreDep, Version
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.timefmt import parse_iso, sf_format

__all__ = ["router"]

router = APIRouter(prefix="/services/data/v{version}/sobjects/{sobject}")

_MAX_IDS = 600_000


def _window(request: Request, sandbox: Sandbox) -> tuple[str, str]:
    try:
        start = parse_iso(request.query_params["start"])
        end = parse_iso(request.query_params["end"])
    except (KeyError, ValueError) as error:
        raise SalesforceError(
            400, "INVALID_REPLICATION_DATE", "start and end must be datetimes"
        ) from error
    now = sandbox.now()
    if end <= start:
        raise SalesforceError(
            400, "INVALID_REPLICATION_DATE", "end date cannot be before start date"
        )
    if start < now - timedelta(days=30):
        raise SalesforceError(
            400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago"
        )
    return sf_format(start), sf_format(min(end, now))


def _check_count(count: int) -> None:
    if count > _MAX_IDS:
        raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "too many ids: narrow the window")


@router.get("/updated", name="updated")
async def updated(
    request: Request,
    version: Version,
    _auth: Authed,
    schema: SObject,
    sandbox: SandboxDep,
    store: StoreDep,
) -> Response:
    start, end = _window(request, sandbox)
    with store.lock:
        ids = store.updated_ids(schema.name, start, end)
    _check_count(len(ids))
    return json_response({"ids": ids, "latestDateCovered": end})


@router.get("/deleted", name="deleted")
async def deleted(
    request: Request,
    version: Version,
    _auth: Authed,
    schema: SObject,
    sandbox: SandboxDep,
    store: StoreDep,
) -> Response:
    start, end = _window(request, sandbox)
    with store.lock:
        rows = store.deleted_rows(schema.name, start, end)
    _check_count(len(rows))
    earliest = sf_format(sandbox.now() - timedelta(days=15))
    body = {
        "deletedRecords": [{"id": i, "deletedDate": d} for i, d in rows],
        "earliestDateAvailable": earliest,
        "latestDateCovered": end,
    }
    return json_response(body)
