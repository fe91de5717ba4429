"""Bulk API 2.0 ingest jobs (update): create, upload CSV, close, poll, results, abort, delete.

    POST   .../jobs/ingest                       {"object", "operation": "update", ...} -> Open
    PUT    .../jobs/ingest/{id}/batches          text/csv, once per job -> 201
    PATCH  .../jobs/ingest/{id}                  {"state": "UploadComplete" | "Aborted"}
    GET    .../jobs/ingest/{id}                  UploadComplete -> InProgress -> JobComplete|Failed
    GET    .../jobs/ingest/{id}/successfulResults | failedResults | unprocessedrecords   (CSV)
    DELETE .../jobs/ingest/{id}                  a job in a final state -> 204
    GET    .../jobs/ingest                       every job

A state change the real API refuses (uploading to a closed job, closing an aborted one,
reading results of a running one, deleting an open one) answers 409 INVALIDJOBSTATE. The job
runs when a poll first finds it complete after `SandboxConfig.bulk_polls(rows)` polls
(`ingest_job.run_job`), so it sees the data of that moment.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.salesforce.bulk_csv import csv_format
from sandbox.crm.salesforce.deps import Authed, IngestJobs, StoreDep, Version
from sandbox.crm.salesforce.ingest_job import FINAL_STATES, IngestJob, abort_job, run_job
from sandbox.crm.salesforce.jobs import read_job_request
from sandbox.crm.salesforce.wire import not_found, read_json
from sandbox.crm.timefmt import sf_format

__all__ = ["router"]

router = APIRouter(prefix="/services/data/v{version}/jobs/ingest")

_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_RESULTS = {
    "successfulResults": "successful",
    "failedResults": "failed",
    "unprocessedrecords": "unprocessed",
    "unprocessedRecords": "unprocessed",  # simple-salesforce's spelling; Salesforce takes both
}


def _conflict(message: str) -> SalesforceError:
    return SalesforceError(409, "INVALIDJOBSTATE", message)


@router.post("", name="bulk_ingest_create")
async def create(
    request: Request,
    version: Version,
    _auth: Authed,
    sandbox: SandboxDep,
    store: StoreDep,
    jobs: IngestJobs,
) -> Response:
    body = await read_job_request(request)
    operation = body.get("operation")
    if operation not in _OPERATIONS:
        raise SalesforceError(400, "INVALIDJOB", f"Invalid operation: {operation}")
    if operation != "update":
        raise SalesforceError(
            400, "INVALIDJOB", f"The sandbox runs update jobs only, not {operation}"
        )
    if str(body.get("contentType", "CSV")) != "CSV":
        raise SalesforceError(400, "INVALIDJOB", "contentType must be CSV")
    delimiter, ending = csv_format(body)
    schema = store.schema(str(body.get("object") or ""))
    if schema is None:
        raise SalesforceError(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
    created = sf_format(sandbox.now())
    job = jobs.register(
        lambda job_id: IngestJob(
            job_id, operation, schema.name, delimiter, ending, created, version
        )
    )
    return json_response(job.describe(sandbox.config.sf_user_id, detail=False))


@router.get("", name="bulk_ingest_list")
async def list_jobs(
    version: Version, _auth: Authed, sandbox: SandboxDep, jobs: IngestJobs
) -> Response:
    records = [job.describe(sandbox.config.sf_user_id, detail=False) for job in jobs.all()]
    return json_response({"done": True, "records": records, "nextRecordsUrl": None})


@router.put("/{job_id}/batches", name="bulk_ingest_upload")
async def upload(
    request: Request, version: Version, job_id: str, _auth: Authed, jobs: IngestJobs
) -> Response:
    job = jobs.find(job_id)
    if not request.headers.get("content-type", "").lower().startswith("text/csv"):
        raise SalesforceError(400, "INVALIDCONTENTTYPE", "Content-Type must be text/csv")
    if job.state != "Open":
        raise _conflict(f"Job data can be uploaded to an Open job only, not {job.state}")
    if job.data is not None:
        raise _conflict("Job data was uploaded already: one upload per job")
    try:
        job.data = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise SalesforceError(400, "ClientInputError", "CSV must be UTF-8") from error
    return Response(status_code=201)


@router.patch("/{job_id}", name="bulk_ingest_state")
async def change(
    request: Request,
    version: Version,
    job_id: str,
    _auth: Authed,
    sandbox: SandboxDep,
    jobs: IngestJobs,
) -> Response:
    job = jobs.find(job_id)
    body = await read_json(request)
    wanted = body.get("state") if isinstance(body, dict) else None
    if wanted == "UploadComplete":
        if job.state != "Open":
            raise _conflict(f"Only an Open job can be closed, not {job.state}")
        job.state = "UploadComplete"
    elif wanted == "Aborted":
        if job.state in FINAL_STATES:
            raise _conflict(f"A job in state {job.state} cannot be aborted")
        abort_job(job)
    else:
        raise SalesforceError(400, "INVALIDJOBSTATE", f"Invalid state: {wanted}")
    job.modstamp = sf_format(sandbox.now())
    return json_response(job.describe(sandbox.config.sf_user_id, detail=False))


@router.get("/{job_id}", name="bulk_ingest_status")
async def status(
    request: Request,
    version: Version,
    job_id: str,
    _auth: Authed,
    sandbox: SandboxDep,
    jobs: IngestJobs,
) -> Response:
    job = jobs.find(job_id)
    if job.state in ("UploadComplete", "InProgress"):
        job.polls += 1
        if job.polls > sandbox.config.bulk_polls(job.record_count()):
            run_job(sandbox, job, request.url.path)
        else:
            job.state = "InProgress"
        job.modstamp = sf_format(sandbox.now())
    return json_response(job.describe(sandbox.config.sf_user_id, detail=True))


@router.get("/{job_id}/{results}", name="bulk_ingest_results")
async def results(
    version: Version, job_id: str, results: str, _auth: Authed, jobs: IngestJobs
) -> Response:
    job = jobs.find(job_id)
    kind = _RESULTS.get(results)
    if kind is None:
        raise not_found()
    if job.state not in FINAL_STATES:
        raise _conflict(f"Results are available once the job is done, not {job.state}")
    return Response(job.csv(kind).encode(), media_type="text/csv")


@router.delete("/{job_id}", name="bulk_ingest_delete")
async def delete(version: Version, job_id: str, _auth: Authed, jobs: IngestJobs) -> Response:
    job = jobs.find(job_id)
    if job.state not in (*FINAL_STATES, "UploadComplete"):
        raise _conflict(f"A job in state {job.state} cannot be deleted; abort it first")
    jobs.remove(job_id)
    return Response(status_code=204)
