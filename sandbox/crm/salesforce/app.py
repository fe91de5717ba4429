"""The Salesforce REST API subset, as a FastAPI app served over HTTPS.

POST /services/oauth2/token                                             (oauth)
GET  /services/data, /services/data/vNN.N, .../limits                   (resources)
GET  .../sobjects, .../sobjects/{type}, .../sobjects/{type}/describe    (describe)
GET  .../sobjects/{type}/updated, .../sobjects/{type}/deleted           (replication)
GET, PATCH, DELETE .../sobjects/{type}/{id}   POST .../sobjects/{type}  (records)
GET  .../query?q=, .../queryAll?q=, .../query/{locator}, ...            (query)
PATCH .../composite/sobjects   (sObject Collections update, <= 200)     (composite)
.../jobs/query...              (Bulk API 2.0 query jobs)                (bulk_query)
.../jobs/ingest...             (Bulk API 2.0 ingest jobs)               (bulk_ingest)
POST .../tooling/sobjects/CustomField                                   (tooling)
/__sandbox/...                 (the admin endpoints, added by sandbox.crm.api_app)

The routers are included in this order, which is the order routes match in: the fixed
sub-resources of an sObject (describe, updated, deleted) before its `{id}`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from sandbox.crm.api_app import build_api_app
from sandbox.crm.errors import SandboxError, json_response
from sandbox.crm.middleware import salesforce_fault
from sandbox.crm.salesforce import (
    bulk_ingest,
    bulk_query,
    composite,
    describe,
    oauth,
    query,
    records,
    replication,
    resources,
    tooling,
)
from sandbox.crm.salesforce.cursors import QueryCursors
from sandbox.crm.salesforce.header_case import SalesforceHeaderCase
from sandbox.crm.salesforce.ingest_job import IngestJob
from sandbox.crm.salesforce.jobs import JobRegistry
from sandbox.crm.salesforce.query_job import QueryJob
from sandbox.crm.salesforce.wire import NOT_FOUND
from sandbox.crm.sandbox import Sandbox

__all__ = ["build_salesforce_app"]

ROUTERS: tuple[APIRouter, ...] = (
    oauth.router,
    resources.router,
    describe.router,
    replication.router,
    records.router,
    query.router,
    composite.router,
    bulk_query.router,
    bulk_ingest.router,
    tooling.router,
)


async def _sandbox_error(_request: Request, error: SandboxError) -> Response:
    return error.response()


async def _http_error(_request: Request, error: HTTPException) -> Response:
    if error.status_code == 405:
        body = [
            {
                "errorCode": "METHOD_NOT_ALLOWED",
                "message": f"HTTP Method not allowed: {error.detail}",
            }
        ]
        return json_response(body, 405)
    return json_response([{"errorCode": "NOT_FOUND", "message": NOT_FOUND}], error.status_code)


async def _unexpected(_request: Request, _error: Exception) -> Response:
    message = "An unexpected error occurred. Please include this ErrorId if you contact support"
    return json_response([{"errorCode": "UNKNOWN_EXCEPTION", "message": message}], 500)


async def _validation_error(_request: Request, _error: RequestValidationError) -> Response:
    return json_response([{"errorCode": "MALFORMED_QUERY", "message": "Bad request"}], 400)


def build_salesforce_app(sandbox: Sandbox) -> FastAPI:
    def headers(_scope: Scope) -> list[tuple[bytes, bytes]]:
        usage = f"api-usage={sandbox.sf_api_used}/{sandbox.config.sf_daily_api_max}"
        return [(b"sforce-limit-info", usage.encode())]

    app = build_api_app(
        sandbox,
        "salesforce",
        ROUTERS,
        {
            SandboxError: _sandbox_error,
            HTTPException: _http_error,
            Exception: _unexpected,
            RequestValidationError: _validation_error,
        },
        headers=headers,
        fault_response=lambda fault, _scope: salesforce_fault(fault, sandbox),
    )
    app.add_middleware(SalesforceHeaderCase)
    app.state.cursors = QueryCursors()
    app.state.query_jobs = JobRegistry[QueryJob](marker="9Z")
    app.state.ingest_jobs = JobRegistry[IngestJob](marker="8Z")
    return app
