"""One Bulk API 2.0 ingest job of the sandbox: its state, its CSV, and running it.

A job runs (all at once) when a poll first finds it complete, after more polls the more
records it holds, like query jobs (`query_job`).
Its CSV is read as Salesforce reads it: the header names fields of the job's object (a name
the object does not have fails the whole job, as real Salesforce does), an empty cell leaves
the field as it is and `#N/A` clears it. Each row is then saved exactly as an sObject
Collections record is (`writes.save_updates`): same checks, same per-record errors, same
SystemModstamp bumps. Results keep the uploaded columns, behind `sf__Id` and `sf__Created`
(successes) or `sf__Id` and `sf__Error` (failures, `CODE:message:fields --`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sandbox.crm.ids import to18, valid_id
from sandbox.crm.salesforce.bulk_csv import csv_format_names
from sandbox.crm.salesforce.jobs import description_head
from sandbox.crm.salesforce.store import CellError, JsonValueError, RecordError, convert_cell
from sandbox.crm.salesforce.writes import PlannedUpdate, save_updates
from sandbox.crm.sandbox import Sandbox

__all__ = ["FINAL_STATES", "IngestJob", "abort_job", "run_job"]

FINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
NULL = "#N/A"


@dataclass
class IngestJob:
    id: str
    operation: str
    object_name: str
    delimiter: str
    line_ending: str
    created: str
    version: str
    state: str = "Open"
    data: str | None = None
    polls: int = 0
    header: list[str] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    processed: int = 0
    error_message: str | None = None
    modstamp: str = ""

    def describe(self, user_id: str, *, detail: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            **description_head(self, user_id, self.modstamp or self.created),
            "contentUrl": f"services/data/v{self.version}/jobs/ingest/{self.id}/batches",
            **csv_format_names(self.delimiter, self.line_ending),
        }
        if detail:
            body.update(
                {
                    "jobType": "V2Ingest",
                    "numberRecordsProcessed": self.processed,
                    "numberRecordsFailed": len(self.failed),
                    "retries": 0,
                    "totalProcessingTime": 10 if self.state in FINAL_STATES else 0,
                    "apiActiveProcessingTime": 5 if self.state in FINAL_STATES else 0,
                    "apexProcessingTime": 0,
                }
            )
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body

    def record_count(self) -> int:
        """The uploaded records, counted by lines (what sizes the job's processing time)."""
        return max(0, len((self.data or "").strip().splitlines()) - 1)

    def rows_of(self, kind: str) -> tuple[list[str], list[list[str]]]:
        """The header and rows of one result set: successful, failed or unprocessed."""
        if kind == "successful":
            return ["sf__Id", "sf__Created", *self.header], self.successful
        if kind == "failed":
            return ["sf__Id", "sf__Error", *self.header], self.failed
        return list(self.header), self.unprocessed

    def csv(self, kind: str) -> str:
        header, rows = self.rows_of(kind)
        out = io.StringIO()
        writer = csv.writer(
            out, delimiter=self.delimiter, lineterminator=self.line_ending, quoting=csv.QUOTE_ALL
        )
        if header:
            writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()


def _error_cell(errors: list[RecordError]) -> str:
    first = errors[0]
    return f"{first.status_code}:{first.message}:{','.join(first.fields)} --"


def _fail(job: IngestJob, message: str, rows: list[list[str]]) -> None:
    job.state = "Failed"
    job.error_message = message
    job.unprocessed = rows


def _read(job: IngestJob) -> list[list[str]] | None:
    """The CSV's rows, header first; None (and the job failed) when it cannot be read."""
    try:
        text = job.data or ""
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=job.delimiter, strict=True)
        rows = [row for row in reader if row]
    except csv.Error as error:
        _fail(job, f"InvalidBatch : Failed to parse CSV: {error}", [])
        return None
    if not rows:
        _fail(job, "InvalidBatch : No data found in the uploaded CSV", [])
        return None
    return rows


def abort_job(job: IngestJob) -> None:
    """Aborted before it ran: every uploaded row is unprocessed."""
    rows = _read(job) if job.data else None  # a CSV that cannot be read leaves nothing to list
    job.state, job.error_message = "Aborted", None
    if rows:
        job.header, job.unprocessed = rows[0], rows[1:]


def run_job(sandbox: Sandbox, job: IngestJob, path: str) -> None:
    """Process the uploaded CSV; the job ends JobComplete, or Failed as a whole."""
    rows = _read(job)
    if rows is None:
        return
    header, body = rows[0], rows[1:]
    job.header = header
    failure = sandbox.faults.job_failure(path)
    if failure is not None:
        _fail(job, failure, body)
        return
    store = sandbox.salesforce
    with store.lock:
        schema = store.schema(job.object_name)
        assert schema is not None  # checked when the job was created
        fields = []
        for name in header:
            sf_field = schema.field(name)
            if sf_field is None:
                _fail(job, f"InvalidBatch : Field name not found : {name}", body)
                return
            fields.append(sf_field)
        if "Id" not in [f.name for f in fields]:
            _fail(job, "InvalidBatch : The Id field is required to update records", body)
            return
        plans: list[PlannedUpdate] = []
        for number, cells in enumerate(body, start=2):
            if len(cells) != len(header):
                _fail(job, f"InvalidBatch : Wrong number of columns in row {number}", body)
                return
            plans.append(_plan(store, schema.name, fields, cells))
        saved = save_updates(sandbox, path, plans)
    for plan, cells, errors in zip(plans, body, saved, strict=True):
        record_id = to18(plan.record_id) if valid_id(plan.record_id) else ""
        if errors:
            job.failed.append([record_id, _error_cell(errors), *cells])
        else:
            job.successful.append([record_id, "false", *cells])
    job.processed = len(body)
    job.state = "JobComplete"


def _plan(store: Any, object_name: str, fields: list[Any], cells: list[str]) -> PlannedUpdate:
    values: dict[str, Any] = {}
    record_id = next(c for f, c in zip(fields, cells, strict=True) if f.name == "Id").strip()
    for sf_field, cell in zip(fields, cells, strict=True):
        if sf_field.name == "Id":
            continue
        if cell == "":
            continue  # an empty cell leaves the field as it is
        if cell == NULL:
            values[sf_field.name] = None
            continue
        try:
            values[sf_field.name] = convert_cell(sf_field.type, cell)
        except CellError:
            message = f"{sf_field.label}: value not of required type: {cell}"
            error = RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", message, [sf_field.name])
            return PlannedUpdate(object_name, record_id, None, [error])
    if not record_id:
        error = RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        return PlannedUpdate(object_name, "", None, [error])
    try:
        changes, errors = store.plan_update(object_name, record_id, values)
    except JsonValueError as problem:
        error = RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD", str(problem), [])
        return PlannedUpdate(object_name, record_id, None, [error])
    return PlannedUpdate(object_name, record_id, changes, errors)
