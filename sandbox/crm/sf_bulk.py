"""Bulk API 2.0 query jobs: create, poll, read CSV results paged by Sforce-Locator, delete.

A job runs its query when a poll first finds it complete (after `sf_bulk_polls_before_complete`
polls), so it sees the data of that moment, as a real asynchronous job would.
"""

import base64
import itertools
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.ids import KEY_PREFIXES, to18
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.soql import SoqlError
from sandbox.crm.soql_eval import CompiledQuery, compile_query
from sandbox.crm.timefmt import sf_format

__all__ = ["add_bulk_routes", "csv_format", "csv_format_names", "find_job"]

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_J = TypeVar("_J")


def csv_format(body: dict[str, Any]) -> tuple[str, str]:
    """The (delimiter, line ending) a job's create request asks for."""
    delimiter = DELIMITERS.get(str(body.get("columnDelimiter", "COMMA")))
    ending = LINE_ENDINGS.get(str(body.get("lineEnding", "LF")))
    if delimiter is None or ending is None:
        raise SalesforceError(400, "INVALIDJOB", "Invalid columnDelimiter or lineEnding")
    return delimiter, ending


def csv_format_names(delimiter: str, ending: str) -> dict[str, str]:
    """A job's `lineEnding` and `columnDelimiter`, as its description names them."""
    return {
        "lineEnding": "CRLF" if ending == "\r\n" else "LF",
        "columnDelimiter": next(k for k, v in DELIMITERS.items() if v == delimiter),
    }


def find_job(jobs: dict[str, _J], job_id: str) -> _J:
    job = jobs.get(job_id)
    if job is None:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    return job


@dataclass
class _Job:
    id: str
    operation: str
    object_name: str
    query: CompiledQuery
    delimiter: str
    line_ending: str
    created: str
    version: str
    state: str = "UploadComplete"
    polls: int = 0
    rows: list[dict[str, Any]] | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _quote(cell: str, empty_is_null: bool) -> str:
    if cell == "" and empty_is_null:
        return ""
    return '"' + cell.replace('"', '""') + '"'


def add_bulk_routes(app: FastAPI, sandbox: Sandbox) -> None:
    jobs: dict[str, _Job] = {}
    numbers = itertools.count(1)
    lock = threading.Lock()
    store = sandbox.salesforce
    Authed = Annotated[None, Depends(app.state.session)]
    Version = Annotated[str, Depends(app.state.api_version)]

    def describe(job: _Job) -> dict[str, Any]:
        body = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object_name,
            "createdById": sandbox.config.sf_user_id,
            "createdDate": job.created,
            "systemModstamp": job.created,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.version),
            **csv_format_names(job.delimiter, job.line_ending),
        }
        if job.state in ("InProgress", "JobComplete", "Aborted"):
            body.update(
                {
                    "jobType": "V2Query",
                    "numberRecordsProcessed": len(job.rows or []),
                    "retries": 0,
                    "totalProcessingTime": 10,
                }
            )
        return body

    @app.post("/services/data/v{version}/jobs/query", name="bulk_query_create")
    async def create(request: Request, version: Version, _auth: Authed) -> Response:
        body = await app.state.json_body(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of job")
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
        with lock:
            job_id = to18(f"{KEY_PREFIXES['Job']}9Z{next(numbers):010d}")
            job = _Job(
                job_id,
                operation,
                compiled.object_name,
                compiled,
                delimiter,
                ending,
                sf_format(sandbox.now()),
                version,
            )
            jobs[job_id] = job
        return json_response(describe(job))

    @app.get("/services/data/v{version}/jobs/query", name="bulk_query_list")
    async def list_jobs(version: Version, _auth: Authed) -> Response:
        records = [describe(j) for j in jobs.values()]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    @app.get("/services/data/v{version}/jobs/query/{job_id}", name="bulk_query_status")
    async def status(version: Version, job_id: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
        if job.state in ("UploadComplete", "InProgress"):
            job.polls += 1
            if job.polls > sandbox.config.sf_bulk_polls_before_complete:
                with store.lock:
                    job.rows = job.query.run(include_deleted=job.operation == "queryAll")
                job.state = "JobComplete"
            else:
                job.state = "InProgress"
        return json_response(describe(job))

    @app.patch("/services/data/v{version}/jobs/query/{job_id}", name="bulk_query_abort")
    async def abort(request: Request, version: Version, job_id: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
        body = await app.state.json_body(request)
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            raise SalesforceError(400, "INVALIDJOB", "Invalid state for a query job; only Aborted")
        if job.state == "JobComplete":
            raise SalesforceError(400, "INVALIDJOB", "Job is already complete")
        job.state = "Aborted"
        return json_response(describe(job))

    @app.delete("/services/data/v{version}/jobs/query/{job_id}", name="bulk_query_delete")
    async def delete(version: Version, job_id: str, _auth: Authed) -> Response:
        find_job(jobs, job_id)
        with lock:
            jobs.pop(job_id, None)
        return Response(status_code=204)

    @app.get("/services/data/v{version}/jobs/query/{job_id}/results", name="bulk_query_results")
    async def results(request: Request, version: Version, job_id: str, _auth: Authed) -> Response:
        job = find_job(jobs, job_id)
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
        sep, ending = job.delimiter, job.line_ending
        lines = [sep.join(_quote(h, False) for h in job.query.csv_header)]
        with store.lock:
            for row in job.rows[offset:end]:
                lines.append(sep.join(_quote(c, True) for c in job.query.csv_cells(row)))
        content = ending.join(lines) + ending
        next_locator = (
            base64.b64encode(str(end).encode()).decode() if end < len(job.rows) else "null"
        )
        headers = {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(end - offset)}
        return Response(content.encode(), headers=headers, media_type="text/csv")
