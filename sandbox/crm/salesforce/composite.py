"""sObject Collections update: up to 200 records of any objects in one call, each with its own
SaveResult; `allOrNone` rolls back all of them when one fails (`writes.save_updates`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.ids import to18
from sandbox.crm.salesforce.deps import Authed, StoreDep, Version
from sandbox.crm.salesforce.store import JsonValueError, RecordError, SalesforceStore
from sandbox.crm.salesforce.wire import read_json
from sandbox.crm.salesforce.writes import PlannedUpdate, save_updates

__all__ = ["router"]

router = APIRouter(prefix="/services/data/v{version}/composite")

_MAX_RECORDS = 200


def _plan(store: SalesforceStore, item: Any) -> PlannedUpdate:
    """One record's planned update (the caller holds the store's lock)."""
    if not isinstance(item, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject")
    values = dict(item)
    attributes = values.pop("attributes", None) or {}
    object_name = attributes.get("type") if isinstance(attributes, dict) else None
    if not object_name:
        raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    record_id = values.pop("id", None) or values.pop("Id", None)
    if not record_id:
        error = RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        return PlannedUpdate(object_name, "", None, [error])
    try:
        changes, errors = store.plan_update(object_name, str(record_id), values)
    except JsonValueError as error:
        raise SalesforceError(400, "JSON_PARSER_ERROR", str(error)) from error
    return PlannedUpdate(object_name, str(record_id), changes, errors)


@router.patch("/sobjects", name="collections_update")
async def collections_update(
    request: Request, version: Version, _auth: Authed, sandbox: SandboxDep, store: StoreDep
) -> Response:
    body = await read_json(request)
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of list from VALUE_NULL"
        )
    if len(records) > _MAX_RECORDS:
        raise SalesforceError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    all_or_none = bool(body.get("allOrNone", False))
    with store.lock:
        plans = [_plan(store, item) for item in records]
        saved = save_updates(sandbox, request.url.path, plans, all_or_none)
    results: list[dict[str, Any]] = [
        {"success": False, "errors": [e.as_json() for e in errors]}
        if errors
        else {"id": to18(plan.record_id), "success": True, "errors": []}
        for plan, errors in zip(plans, saved, strict=True)
    ]
    return json_response(results)
