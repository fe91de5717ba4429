"""GET /properties/v2/{type}/properties: the legacy properties API, still served.

Airbyte's HubSpot source reads each object's property definitions here to build its schema
and the `properties` list of every page. The same definitions as /crm/v3/properties, in the v2
shape: a bare JSON array (no `results`), `readOnlyValue` / `readOnlyDefinition` at the top
level instead of under `modificationMetadata`, times in epoch milliseconds. Singular type
names (`deal`, `company`) are accepted as v2 accepts them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from sandbox.crm.errors import json_response
from sandbox.crm.hubspot.deps import ObjectKind, StoreDep
from sandbox.crm.timefmt import parse_iso

__all__ = ["router", "v2_property"]

router = APIRouter(prefix="/properties/v2/{object_type}")


def _millis(value: Any) -> Any:
    return int(parse_iso(value).timestamp() * 1000) if isinstance(value, str) else value


def v2_property(v3: dict[str, Any]) -> dict[str, Any]:
    """One v3 property definition in the v2 shape."""
    meta = v3.get("modificationMetadata") or {}
    body = {k: v for k, v in v3.items() if k not in ("modificationMetadata", "archived")}
    body.update(
        readOnlyValue=meta.get("readOnlyValue", False),
        readOnlyDefinition=meta.get("readOnlyDefinition", False),
        mutableDefinitionNotDeletable=meta.get("readOnlyDefinition", False),
        deleted=v3.get("archived", False),
        favorited=False,
        displayMode="current_value",
    )
    for key in ("createdAt", "updatedAt"):
        if key in body:
            body[key] = _millis(body[key])
    return body


@router.get("/properties", name="properties_v2_list")
async def properties_v2_list(kind: ObjectKind, store: StoreDep) -> Response:
    return json_response([v2_property(p.as_json()) for p in store.properties[kind].values()])
