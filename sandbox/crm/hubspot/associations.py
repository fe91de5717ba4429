"""POST /crm/v4/associations/{from}/{to}/batch/read: each input's associated objects with
their association types (Primary labelled, beside the unlabeled type HubSpot always adds), or
an error naming the inputs that have none. `toObjectId` is a string, as HubSpot's spec and
hubspot-api-client's model (`MultiAssociatedObjectWithLabel.to_object_id: str`) declare it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.hubspot.batches import batch_inputs, batch_response, started_at
from sandbox.crm.hubspot.deps import StoreDep
from sandbox.crm.hubspot.schema import PRIMARY_TYPE_IDS, singular
from sandbox.crm.hubspot.wire import object_type, read_json
from sandbox.crm.timefmt import epoch_ms

__all__ = ["router"]

router = APIRouter()


def _none_found(source: str, target: str, from_id: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": f"No {singular(target)} is associated with {singular(source)} {from_id}.",
        "context": {
            "fromObjectId": [from_id],
            "fromObjectType": [singular(source)],
            "toObjectType": [singular(target)],
        },
    }


def _linked(from_id: str, found: dict[str, list[int]]) -> dict[str, Any]:
    return {
        "from": {"id": from_id},
        "to": [
            {
                "toObjectId": to_id,
                "associationTypes": [
                    {
                        "category": "HUBSPOT_DEFINED",
                        "typeId": t,
                        "label": "Primary" if t in PRIMARY_TYPE_IDS else None,
                    }
                    for t in type_ids
                ],
            }
            for to_id, type_ids in found.items()
        ],
    }


@router.post(
    "/crm/v4/associations/{from_type}/{to_type}/batch/read", name="associations_batch_read"
)
async def associations_read(
    request: Request, from_type: str, to_type: str, sandbox: SandboxDep, store: StoreDep
) -> Response:
    started = started_at()
    source, target = object_type(from_type), object_type(to_type)
    inputs = batch_inputs(await read_json(request), limit=1000)
    moment = epoch_ms(sandbox.now())
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with store.lock:
        for item in inputs:
            from_id = str(item.get("id", ""))
            found = (
                store.associated(source, from_id, target, moment)
                if store.get(source, from_id)
                else {}
            )
            if found:
                results.append(_linked(from_id, found))
            else:
                errors.append(_none_found(source, target, from_id))
    return batch_response(results, errors, started)
