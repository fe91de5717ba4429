"""Objects by the hundred: batch read and batch update, 200 or 207 with errors naming ids.

    POST /crm/v3/objects/{type}/batch/read     inputs <= 100, idProperty, properties,
                                               propertiesWithHistory; ?archived
    POST /crm/v3/objects/{type}/batch/update   inputs <= 100, each an id and properties

An update's record faults (`Fault("record_error")`) fail single inputs in the 207's errors;
an `invalid_value` fault refuses the whole call, as a property validation rule does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.hubspot.batches import batch_answer, batch_inputs, started_at
from sandbox.crm.hubspot.deps import ObjectKind, StoreDep
from sandbox.crm.hubspot.lookup import check_properties, find
from sandbox.crm.hubspot.render import render, wanted_properties, written_properties
from sandbox.crm.hubspot.wire import flag, invalid, read_json
from sandbox.crm.timefmt import epoch_ms

__all__ = ["router"]

router = APIRouter(prefix="/crm/v3/objects/{object_type}/batch")


@router.post("/read", name="batch_read")
async def batch_read(
    request: Request, kind: ObjectKind, sandbox: SandboxDep, store: StoreDep
) -> Response:
    started = started_at()
    body = await read_json(request)
    inputs = batch_inputs(body)
    id_property = body.get("idProperty")
    archived = flag(request.query_params.get("archived"))
    properties = wanted_properties(store, kind, [str(p) for p in body.get("properties") or []])
    history_names = [str(p) for p in body.get("propertiesWithHistory") or []]
    history = wanted_properties(store, kind, history_names) if history_names else []
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    moment = epoch_ms(sandbox.now())
    with store.lock:
        for item in inputs:
            object_id = str(item.get("id", ""))
            obj = find(store, kind, object_id, id_property, archived)
            if obj is None:
                missing.append(object_id)
            else:
                results.append(render(store, kind, obj, properties, at_ms=moment, history=history))
    return batch_answer(results, missing, kind, started)


@router.post("/update", name="batch_update")
async def batch_update(
    request: Request, kind: ObjectKind, sandbox: SandboxDep, store: StoreDep
) -> Response:
    started = started_at()
    body = await read_json(request)
    inputs = batch_inputs(body)
    ids = [str(i.get("id", "")) for i in inputs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise invalid(f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")
    for item in inputs:
        if not isinstance(item.get("properties"), dict):
            raise invalid("Each input needs an id and properties")
        check_properties(store, sandbox.config.hs_portal_id, kind, item["properties"])
    if sandbox.faults.invalid_value("hubspot", request.url.path, ids) is not None:
        raise invalid(
            "Property values were not valid: a value does not pass the property's validation rule",
            errors=[{"message": "does not pass the validation rule", "code": "INVALID"}],
        )
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    refused: dict[tuple[str, str], list[str]] = {}
    now = sandbox.now()
    moment = epoch_ms(now)
    with store.lock:
        for item in inputs:
            obj = find(store, kind, str(item.get("id", "")), item.get("idProperty"), False)
            if obj is None:
                missing.append(str(item.get("id", "")))
                continue
            fault = sandbox.faults.record_error("hubspot", request.url.path, obj.id)
            if fault is not None:
                refused.setdefault((fault.code, fault.record_message), []).append(obj.id)
                continue
            values = item["properties"]
            updated = store.update(kind, obj.id, values, now)
            shown = written_properties(values)
            results.append(render(store, kind, updated, shown, at_ms=moment))
    return batch_answer(results, missing, kind, started, refused)
