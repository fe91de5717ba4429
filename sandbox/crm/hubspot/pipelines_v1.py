"""GET /crm-pipelines/v1/pipelines/{object_type}: the legacy pipelines API, still served.

Older connectors (Singer and Airbyte HubSpot taps among them) read deal pipelines here rather
than at /crm/v3/pipelines. Same pipelines as v3, in the v1 shape: `pipelineId` / `stageId`,
`active` instead of `archived`, times in epoch milliseconds, `objectType` "DEAL", stage
`metadata` with string values ("false", "0.2"). `includeInactive` (EXCLUDE_DELETED by default)
decides whether archived pipelines and stages are listed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from sandbox.crm.errors import json_response
from sandbox.crm.hubspot.deps import StoreDep
from sandbox.crm.hubspot.wire import invalid
from sandbox.crm.timefmt import parse_iso

__all__ = ["router"]

router = APIRouter(prefix="/crm-pipelines/v1/pipelines")

_OBJECT_TYPES = {"deals": ("DEAL", "0-3"), "tickets": ("TICKET", "0-5")}


def _millis(value: Any) -> int:
    return int(parse_iso(value).timestamp() * 1000) if isinstance(value, str) else 0


def _stage(stage: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in (stage.get("metadata") or {}).items()}  # fmt: skip
    return {
        "stageId": stage["id"],
        "label": stage.get("label"),
        "displayOrder": stage.get("displayOrder", 0),
        "metadata": metadata,
        "active": not stage.get("archived", False),
        "createdAt": _millis(stage.get("createdAt")),
        "updatedAt": _millis(stage.get("updatedAt")),
    }


def v1_pipeline(pipeline: dict[str, Any], object_type: str, *, default: bool) -> dict[str, Any]:
    """One v3 pipeline in the v1 shape."""
    name, type_id = _OBJECT_TYPES[object_type]
    return {
        "pipelineId": pipeline["id"],
        "objectType": name,
        "objectTypeId": type_id,
        "label": pipeline.get("label"),
        "displayOrder": pipeline.get("displayOrder", 0),
        "active": not pipeline.get("archived", False),
        "default": default,
        "createdAt": _millis(pipeline.get("createdAt")),
        "updatedAt": _millis(pipeline.get("updatedAt")),
        "stages": [_stage(s) for s in pipeline.get("stages", [])],
    }


@router.get("/{object_type}", name="pipelines_v1_list")
async def pipelines_v1_list(
    object_type: str, store: StoreDep, includeInactive: str = "EXCLUDE_DELETED"
) -> Response:
    if object_type not in _OBJECT_TYPES:
        raise invalid(f"Unable to infer object type from: {object_type}")
    pipelines = store.pipelines if object_type == "deals" else []
    results = [v1_pipeline(p, object_type, default=p.get("id") == "default") for p in pipelines]
    if includeInactive == "EXCLUDE_DELETED":
        results = [p for p in results if p["active"]]
        for pipeline in results:
            pipeline["stages"] = [s for s in pipeline["stages"] if s["active"]]
    return json_response({"results": results})
