"""The API's front door: the versions it serves, a version's resources, and the org's limits."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import json_response
from sandbox.crm.salesforce.deps import Authed, Version

__all__ = ["router"]

router = APIRouter(prefix="/services/data")

_RESOURCES = ("sobjects", "query", "queryAll", "limits", "composite", "jobs", "tooling")


@router.get("", name="versions")
async def versions(sandbox: SandboxDep) -> Response:
    low, high = int(sandbox.config.sf_min_api_version), int(sandbox.config.sf_max_api_version)
    body = [
        {"label": f"v{n}.0", "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
        for n in range(low, high + 1)
    ]
    return json_response(body)


@router.get("/v{version}", name="resources")
async def resources(version: Version, _auth: Authed) -> Response:
    base = f"/services/data/v{version}"
    return json_response({name: f"{base}/{name}" for name in _RESOURCES})


@router.get("/v{version}/limits", name="limits")
async def limits(version: Version, _auth: Authed, sandbox: SandboxDep) -> Response:
    cfg = sandbox.config
    body = {
        "DailyApiRequests": {
            "Max": cfg.sf_daily_api_max,
            "Remaining": max(0, cfg.sf_daily_api_max - sandbox.sf_api_used),
        },
        "DailyBulkV2QueryJobs": {
            "Max": cfg.sf_daily_bulk_query_jobs_max,
            "Remaining": max(0, cfg.sf_daily_bulk_query_jobs_max - sandbox.sf_bulk_jobs_used),
        },
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1000},
    }
    return json_response(body)
