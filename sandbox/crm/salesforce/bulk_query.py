"""Bulk API 2.0 query jobs: create, list, poll, abort, delete, and CSV results paged by
Sforce-Locator.

    POST   .../jobs/query                {"operation": "query" | "queryAll", "query", ...}
    GET    .../jobs/query[/{id}]         UploadComplete -> InProgress -> JobComplete
    PATCH  .../jobs/query/{id}           {"state": "Aborted"}
    DELETE .../jobs/query/{id}
    GET    .../jobs/query/{id}/results   ?maxRecords=&locator=   (CSV)
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.salesforce.bulk_csv import csv_format
from sandbox.crm.salesforce.deps import Authed, QueryJobs, StoreDep, Version
from sandbox.crm.salesforce.jobs import read_job_request
from sandbox.crm.salesforce.query_job import QueryJob
from sandbox.crm.salesforce.soql import SoqlError
from sandbox.crm.salesforce.soql_eval import compile_query
from sandbox.crm.salesforce.wire import read_json
from sandbox.crm.timefmt import sf_format

__all__ = ["router"]

router = APIRouter(prefix="/services/data/v{version}/jobs/query")


@router.post("", name="bulk_query_create")
async def create(
    request: Request,
    version: Version,
    _auth: Authed,
    sandbox: SandboxDep,
    store: StoreDep,
    jobs: QueryJobs,
) -> Response:
    body = await read_job_request(request)
    operation = body.get("operation")
    if operation not in ("query", "queryAll"):
        raise SalesforceError(400, "INVALIDJOB", f"Invalid operation: {operation}")
    delimiter, ending = csv_format(body)
    text = body.get("query")
    if not isinstance(text, str) or not text.strip():
        raise SalesforceError(400, "INVALIDJOB", "The query is required")
    with store.lock:
        try:
            compiled = compile_query(text, store, sandbox.now())
        except SoqlError as error:
            raise SalesforceError(400, error.code, error.message) from error
    if compiled.is_count:
        raise SalesforceError(
            400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0"
        )
    if not sandbox.use_bulk_job():
        raise SalesforceError(
            403, "REQUEST_LIMIT_EXCEEDED", "Max number of query jobs per 24 hrs exceeded"
        )
    created = sf_format(sandbox.now())
    job = jobs.register(
        lambda job_id: QueryJob(
            job_id, operation, compiled.object_name, compiled, delimiter, ending, created, version
        )
    )
    return json_response(job.describe(sandbox.config.sf_user_id))


@router.get("", name="bulk_query_list")
async def list_jobs(
    version: Version, _auth: Authed, sandbox: SandboxDep, jobs: QueryJobs
) -> Response:
    records = [job.describe(sandbox.config.sf_user_id) for job in jobs.all()]
    return json_response({"done": True, "records": records, "nextRecordsUrl": None})


@router.get("/{job_id}", name="bulk_query_status")
async def status(
    version: Version,
    job_id: str,
    _auth: Authed,
    sandbox: SandboxDep,
    store: StoreDep,
    jobs: QueryJobs,
) -> Response:
    job = jobs.find(job_id)
    if job.state == "UploadComplete":
        failure = sandbox.faults.job_failure(f"/jobs/query/{job.object_name}")
        if failure is not None:
            job.state, job.error_message = "Failed", failure
            return json_response(job.describe(sandbox.config.sf_user_id))
        with store.lock:
            job.rows = job.query.run(include_deleted=job.operation == "queryAll")
        job.polls_needed = sandbox.config.bulk_polls(len(job.rows))
    if job.state in ("UploadComplete", "InProgress"):
        job.polls += 1
        job.state = "JobComplete" if job.polls > job.polls_needed else "InProgress"
    return json_response(job.describe(sandbox.config.sf_user_id))


@router.patch("/{job_id}", name="bulk_query_abort")
async def abort(
    request: Request,
    version: Version,
    job_id: str,
    _auth: Authed,
    sandbox: SandboxDep,
    jobs: QueryJobs,
) -> Response:
    job = jobs.find(job_id)
    body = await read_json(request)
    if not isinstance(body, dict) or body.get("state") != "Aborted":
        raise SalesforceError(400, "INVALIDJOB", "Invalid state for a query job; only Aborted")
    if job.state == "JobComplete":
        raise SalesforceError(400, "INVALIDJOB", "Job is already complete")
    job.state = "Aborted"
    return json_response(job.describe(sandbox.config.sf_user_id))


@router.delete("/{job_id}", name="bulk_query_delete")
async def delete(version: Version, job_id: str, _auth: Authed, jobs: QueryJobs) -> Response:
    jobs.find(job_id)
    jobs.remove(job_id)
    return Response(status_code=204)


@router.get("/{job_id}/results", name="bulk_query_results")
async def results(
    request: Request,
    version: Version,
    job_id: str,
    _auth: Authed,
    store: StoreDep,
    jobs: QueryJobs,
) -> Response:
    job = jobs.find(job_id)
    if job.state != "JobComplete" or job.rows is None:
        raise SalesforceError(400, "API_ERROR", f"Job is not complete: {job.state}")
    try:
        max_records = int(request.query_params.get("maxRecords", "50000") or 50000)
        locator = request.query_params.get("locator") or ""
        offset = int(base64.b64decode(locator).decode()) if locator else 0
    except ValueError as error:
        raise SalesforceError(400, "INVALIDLOCATOR", "Invalid locator or maxRecords") from error
    if max_records < 1 or offset < 0 or offset > len(job.rows):
        raise SalesforceError(400, "INVALIDLOCATOR", "Invalid locator or maxRecords")
    end = min(len(job.rows), offset + max_records)
    with store.lock:
        content = job.csv(job.rows[offset:end])
    next_locator = base64.b64encode(str(end).encode()).decode() if end < len(job.rows) else "null"
    headers = {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(end - offset)}
    return Response(content.encode(), headers=headers, media_type="text/csv")
