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
runs when a poll first finds it complete after `sf_bulk_polls_before_complete` polls
(`sf_ingest_job.run_job`), so it sees the data of that moment.
"""

import itertools
import threading
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.ids import KEY_PREFIXES, to18
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.sf_bulk import csv_format, csv_format_names, find_job
from sandbox.crm.sf_ingest_job import FINAL_STATES, IngestJob, abort_job, run_job
from sandbox.crm.timefmt import sf_format

__all__ = ["add_ingest_routes"]

_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_RESULTS = {
    "successfulResults": "successful",
    "failedResults": "failed",
    "unprocessedrecords": "unprocessed",
    "unprocessedRecords": "unprocessed",  # simple-salesforce's spelling; Salesforce takes both
}


def _conflict(message: str) -> SalesforceError:
    return SalesforceError(409, "INVALIDJOBSTATE", message)


def add_ingest_routes(app: FastAPI, sandbox: Sandbox) -> None:
    jobs: dict[str, IngestJob] = {}
    numbers = itertools.count(1)
    lock = threading.Lock()
    Authed = Annotated[None, Depends(app.state.session)]
    Version = Annotated[str, Depends(app.state.api_version)]
    base = "/services/data/v{version}/jobs/ingest"

    def describe(job: IngestJob, detail: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object_name,
            "createdById": sandbox.config.sf_user_id,
            "createdDate": job.created,
            "systemModstamp": job.modstamp or job.created,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.version),
            "contentUrl": f"services/data/v{job.version}/jobs/ingest/{job.id}/batches",
            **csv_format_names(job.delimiter, job.line_ending),
        }
        if detail:
            body.update(
                {
                    "jobType": "V2Ingest",
                    "numberRecordsProcessed": job.processed,
                    "numberRecordsFailed": len(job.failed),
                    "retries": 0,
                    "totalProcessingTime": 10 if job.state in FINAL_STATES else 0,
                    "apiActiveProcessingTime": 5 if job.state in FINAL_STATES else 0,
                    "apexProcessingTime": 0,
                }
            )
            if job.error_message:
                body["errorMessage"] = job.error_message
        return body

    def move(job: IngestJob, state: str) -> None:
        job.state = state
        job.modstamp = sf_format(sandbox.now())

    @app.post(base, name="bulk_ingest_create")
    async def create(request: Request, version: Version, _auth: Authed) -> Response:
        body = await app.state.json_body(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of job")
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
        schema = sandbox.salesforce.schema(str(body.get("object") or ""))
        if schema is None:
            raise SalesforceError(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
        with lock:
            job_id = to18(f"{KEY_PREFIXES['Job']}8Z{next(numbers):010d}")
            job = IngestJob(
                job_id, operation, schema.name, delimiter, ending, sf_format(sandbox.now()), version
            )
            jobs[job_id] = job
        return json_response(describe(job, detail=False))

    @app.get(base, name="bulk_ingest_list")
    async def list_jobs(version: Version, _auth: Authed) -> Response:
        records = [describe(j, detail=False) for j in jobs.values()]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    @app.put(base + "/{job_id}/batches", name="bulk_ingest_upload")
    async def upload(request: Request, version: Version, job_id: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
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

    @app.patch(base + "/{job_id}", name="bulk_ingest_state")
    async def change(request: Request, version: Version, job_id: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
        body = await app.state.json_body(request)
        wanted = body.get("state") if isinstance(body, dict) else None
        if wanted == "UploadComplete":
            if job.state != "Open":
                raise _conflict(f"Only an Open job can be closed, not {job.state}")
            move(job, "UploadComplete")
        elif wanted == "Aborted":
            if job.state in FINAL_STATES:
                raise _conflict(f"A job in state {job.state} cannot be aborted")
            abort_job(job)
            job.modstamp = sf_format(sandbox.now())
        else:
            raise SalesforceError(400, "INVALIDJOBSTATE", f"Invalid state: {wanted}")
        return json_response(describe(job, detail=False))

    @app.get(base + "/{job_id}", name="bulk_ingest_status")
    async def status(request: Request, version: Version, job_id: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
        if job.state in ("UploadComplete", "InProgress"):
            job.polls += 1
            if job.polls > sandbox.config.sf_bulk_polls_before_complete:
                run_job(sandbox, job, request.url.path)
                job.modstamp = sf_format(sandbox.now())
            else:
                move(job, "InProgress")
        return json_response(describe(job, detail=True))

    @app.get(base + "/{job_id}/{results}", name="bulk_ingest_results")
    async def results(version: Version, job_id: str, results: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
        kind = _RESULTS.get(results)
        if kind is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        if job.state not in FINAL_STATES:
            raise _conflict(f"Results are available once the job is done, not {job.state}")
        return Response(job.csv(kind).encode(), media_type="text/csv")

    @app.delete(base + "/{job_id}", name="bulk_ingest_delete")
    async def delete(version: Version, job_id: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
        if job.state not in (*FINAL_STATES, "UploadComplete"):
            raise _conflict(f"A job in state {job.state} cannot be deleted; abort it first")
        with lock:
            jobs.pop(job_id, None)
        return Response(status_code=204)
