"""The HubSpot CRM API subset, as a FastAPI app served over plain HTTP.

    POST  /oauth/v1/token                               (oauth)
    GET   /crm/v3/objects/{type}[/{id}], POST, PATCH, DELETE   (objects)
    POST  /crm/v3/objects/{type}/search                 (search)
    POST  /crm/v3/objects/{type}/batch/read | update    (batch)
    POST  /crm/v4/associations/{from}/{to}/batch/read   (associations)
    GET   /crm/v3/properties/{type}[/...], POST         (properties)
    GET   /crm/v3/pipelines/{type}[/{id}[/stages]]      (pipelines)
    GET   /crm-pipelines/v1/pipelines/{type}            (pipelines_v1: the legacy API)
    GET   /properties/v2/{type}/properties              (properties_v2: the legacy API)
    GET   /crm/v3/owners[/{id}]                         (owners)
    GET   /crm/v3/schemas                               (custom_schemas: none)
    GET   /marketing/v3/forms                           (forms)
    GET   /form-integrations/v1/submissions/forms/{guid}   (forms: the v1 submissions API)
    /__sandbox/...      (the admin endpoints, added by sandbox.crm.api_app)

Every response carries X-HubSpot-RateLimit-* headers (search answers omit them, as HubSpot's
do); past the 10-second window, the daily allowance or the search rate, 429 with HubSpot's
body. Tokens and scopes are checked by `gate` (401 INVALID/EXPIRED_AUTHENTICATION, 403
MISSING_SCOPES) before any route runs.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from sandbox.crm.api_app import build_api_app
from sandbox.crm.errors import HubSpotError, SandboxError
from sandbox.crm.hubspot import (
    associations,
    batch,
    custom_schemas,
    forms,
    oauth,
    objects,
    owners,
    pipelines,
    pipelines_v1,
    properties,
    properties_v2,
    search,
)
from sandbox.crm.hubspot.gate import check_request, rate_headers
from sandbox.crm.hubspot.search_cache import SearchCache
from sandbox.crm.middleware import hubspot_fault
from sandbox.crm.sandbox import Sandbox

__all__ = ["build_hubspot_app"]

ROUTERS: tuple[APIRouter, ...] = (
    oauth.router,
    objects.router,
    search.router,
    batch.router,
    associations.router,
    properties.router,
    properties_v2.router,
    pipelines.router,
    pipelines_v1.router,
    owners.router,
    custom_schemas.router,
    forms.router,
)


async def _sandbox_error(_request: Request, error: SandboxError) -> Response:
    return error.response()


async def _http_error(request: Request, error: HTTPException) -> Response:
    if error.status_code == 405:
        return HubSpotError(
            405, "VALIDATION_ERROR", f"HTTP {request.method} is not supported by this resource"
        ).response()
    return HubSpotError(404, None, "Not Found").response()


async def _unexpected(_request: Request, _error: Exception) -> Response:
    return HubSpotError(500, "INTERNAL_ERROR", "internal error").response()


def build_hubspot_app(sandbox: Sandbox) -> FastAPI:
    app = build_api_app(
        sandbox,
        "hubspot",
        ROUTERS,
        {SandboxError: _sandbox_error, HTTPException: _http_error, Exception: _unexpected},
        headers=lambda scope: rate_headers(sandbox, scope),
        fault_response=lambda fault, _scope: hubspot_fault(fault, sandbox),
        gate=lambda scope, endpoint: check_request(sandbox, scope, endpoint),
    )
    app.state.search_cache = SearchCache()
    return app
