"""Deal pipelines and their stages (tickets have none in the sandbox)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from sandbox.crm.errors import json_response
from sandbox.crm.hubspot.deps import StoreDep
from sandbox.crm.hubspot.store import HubSpotStore
from sandbox.crm.hubspot.wire import invalid, not_found

__all__ = ["router"]

router = APIRouter(prefix="/crm/v3/pipelines/{object_type}")


def _pipelines(store: HubSpotStore, object_type: str) -> list[dict[str, Any]]:
    if object_type == "deals":
        return store.pipelines
    if object_type == "tickets":
        return []
    raise invalid(f"Unable to infer object type from: {object_type}")


def _pipeline(store: HubSpotStore, object_type: str, pipeline_id: str) -> dict[str, Any]:
    for pipeline in _pipelines(store, object_type):
        if pipeline.get("id") == pipeline_id:
            return pipeline
    raise not_found(f"Unable to find pipeline {pipeline_id}")


@router.get("", name="pipelines_list")
async def pipelines_list(object_type: str, store: StoreDep) -> Response:
    return json_response({"results": _pipelines(store, object_type)})


@router.get("/{pipeline_id}", name="pipelines_read")
async def pipelines_read(object_type: str, pipeline_id: str, store: StoreDep) -> Response:
    return json_response(_pipeline(store, object_type, pipeline_id))


@router.get("/{pipeline_id}/stages", name="pipeline_stages")
async def pipeline_stages(object_type: str, pipeline_id: str, store: StoreDep) -> Response:
    pipeline = _pipeline(store, object_type, pipeline_id)
    return json_response({"results": pipeline.get("stages", [])})
