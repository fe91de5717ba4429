"""What the Salesforce routes depend on, as `Annotated` aliases resolved per request.

    @router.get("/services/data/v{version}/sobjects/{sobject}")
    async def sobject_info(version: Version, _auth: Authed, schema: SObject) -> Response: ...

Resolved in the order a route declares them: the API version (404), then the session and the
daily allowance (401, 403), then the sObject (404), as Salesforce checks them. The shared
objects (query cursors, job registries) are made once by `build_salesforce_app` and kept on
`app.state`. All are async, so that resolving them costs no thread hop.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import SalesforceError
from sandbox.crm.salesforce.cursors import QueryCursors
from sandbox.crm.salesforce.ingest_job import IngestJob
from sandbox.crm.salesforce.jobs import JobRegistry
from sandbox.crm.salesforce.query_job import QueryJob
from sandbox.crm.salesforce.schema import ObjectSchema
from sandbox.crm.salesforce.store import SalesforceStore
from sandbox.crm.salesforce.wire import not_found

__all__ = [
    "Authed",
    "Cursors",
    "IngestJobs",
    "QueryJobs",
    "SObject",
    "StoreDep",
    "Version",
]


async def get_store(sandbox: SandboxDep) -> SalesforceStore:
    return sandbox.salesforce


StoreDep = Annotated[SalesforceStore, Depends(get_store)]


async def api_version(version: str, sandbox: SandboxDep) -> str:
    """The `NN.N` of a `/services/data/vNN.N` path, within the versions the org serves."""
    try:
        number = float(version)
    except ValueError:
        number = -1.0
    cfg = sandbox.config
    if not cfg.sf_min_api_version <= number <= cfg.sf_max_api_version or "." not in version:
        raise not_found()
    return version


Version = Annotated[str, Depends(api_version)]


async def require_session(request: Request, sandbox: SandboxDep) -> None:
    """A valid session, and one more call within the daily allowance."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not sandbox.sessions.valid(token.strip()):
        raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if sandbox.use_salesforce_call() is None:
        raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


Authed = Annotated[None, Depends(require_session)]


async def sobject_schema(sobject: str, store: StoreDep) -> ObjectSchema:
    schema = store.schema(sobject)
    if schema is None:
        raise not_found()
    return schema


SObject = Annotated[ObjectSchema, Depends(sobject_schema)]


async def get_cursors(request: Request) -> QueryCursors:
    return cast(QueryCursors, request.app.state.cursors)


Cursors = Annotated[QueryCursors, Depends(get_cursors)]


async def get_query_jobs(request: Request) -> JobRegistry[QueryJob]:
    return cast(JobRegistry[QueryJob], request.app.state.query_jobs)


QueryJobs = Annotated[JobRegistry[QueryJob], Depends(get_query_jobs)]


async def get_ingest_jobs(request: Request) -> JobRegistry[IngestJob]:
    return cast(JobRegistry[IngestJob], request.app.state.ingest_jobs)


IngestJobs = Annotated[JobRegistry[IngestJob], Depends(get_ingest_jobs)]
