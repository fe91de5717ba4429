"""Updating many Salesforce records in one Bulk API 2.0 ingest job, through simple-salesforce.

`sf.bulk2.<Object>.update(records=...)` creates the job, uploads the CSV, closes it and polls
until it is done; its counts tell whether every record was saved. Only when some were not does
this read `failedResults` (and `successfulResults`, `unprocessedrecords` as needed) and map
each row back to its record by the `Id` column the results repeat, so a refused record keeps
Salesforce's own code and message, exactly as an sObject Collections SaveResult would give it.

A job that fails as a whole (a column Salesforce does not know, a job it aborts) raises
`BulkJobFailed` with Salesforce's `errorMessage`: none of its records counts as written.

CSV is not JSON: an empty cell leaves a field unchanged, so a cleared value is sent as `#N/A`.
Every HTTP call (create, upload, close, each poll, each result set) is counted by the client's
session hook, like any other call of the run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from simple_salesforce.exceptions import SalesforceOperationError

from connectors.core.errors import ConnectorError, MalformedResponse
from connectors.core.writes import RecordUpdate, WriteOutcome
from connectors.salesforce.client import SalesforceClient

__all__ = ["JOB_RECORDS", "BulkJobFailed", "bulk_update", "csv_cell", "error_text"]

JOB_RECORDS = 10_000
"""Records per job: even with every text field at its longest, far below the 100 MB upload."""
_NO_RESULT = "NO_RESULT: Salesforce reported no result for this record"


class BulkJobFailed(ConnectorError):
    """The ingest job failed (or was aborted) as a whole; no record of it counts as written."""


def csv_cell(value: Any) -> str:
    """A value as a Bulk API CSV cell: `#N/A` clears, booleans are `true`/`false`."""
    if value is None or value == "":
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


def error_text(cell: str) -> str:
    """`sf__Error` (`CODE:message:fields --`) in the Collections path's words
    (`CODE: message [fields]`), so a record's error reads the same either way."""
    text = cell.strip().removesuffix("--").strip()
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":") if rest.count(":") else (rest, "", "")
    where = f" [{fields.strip()}]" if fields.strip() else ""
    return f"{code}: {message.strip()}{where}" if code else _NO_RESULT


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    found = {}
    for row in rows:
        record_id = row.get("Id") or row.get("sf__Id") or ""
        if record_id:
            found[record_id] = row
            found[record_id[:15]] = row
    return found


def bulk_update(
    client: SalesforceClient,
    object_type: str,
    updates: Sequence[RecordUpdate],
    poll_seconds: float,
) -> list[WriteOutcome]:
    """One ingest job for these updates; one outcome per update, in order."""
    if not updates:
        return []
    if len(updates) > JOB_RECORDS:
        raise ValueError(f"at most {JOB_RECORDS} records per job, not {len(updates)}")
    records = [
        {"Id": u.external_id, **{name: csv_cell(v) for name, v in u.values.items()}}
        for u in updates
    ]
    try:
        jobs = client.call(
            lambda sf: getattr(sf.bulk2, object_type).update(records=records, wait=poll_seconds)
        )
    except SalesforceOperationError as error:
        raise BulkJobFailed(f"Salesforce Bulk API job for {object_type} failed: {error}") from None
    if not isinstance(jobs, list) or len(jobs) != 1 or not isinstance(jobs[0], dict):
        raise MalformedResponse(f"Salesforce Bulk API answered the {object_type} job with {jobs!r}")
    job = jobs[0]
    total, processed = int(job["numberRecordsTotal"]), int(job["numberRecordsProcessed"])
    failed = int(job["numberRecordsFailed"])
    if failed == 0 and processed == total == len(updates):
        return [WriteOutcome(u.external_id, True) for u in updates]
    return _outcomes(client, object_type, str(job["job_id"]), updates, processed, failed)


def _outcomes(
    client: SalesforceClient,
    object_type: str,
    job_id: str,
    updates: Sequence[RecordUpdate],
    processed: int,
    failed: int,
) -> list[WriteOutcome]:
    """Read the job's result sets; a record in none of them is not counted as written."""

    def results(method: str) -> dict[str, dict[str, str]]:
        text = client.call(lambda sf: getattr(getattr(sf.bulk2, object_type), method)(job_id))
        return _by_id(_rows(str(text)))

    written = results("get_successful_records") if processed > failed else {}
    refused = results("get_failed_records") if failed else {}
    left = results("get_unprocessed_records") if processed < len(updates) else {}
    outcomes = []
    for update in updates:
        key = update.external_id
        if key in written or key[:15] in written:
            outcomes.append(WriteOutcome(key, True))
        elif (row := refused.get(key) or refused.get(key[:15])) is not None:
            outcomes.append(WriteOutcome(key, False, error_text(row.get("sf__Error", ""))))
        elif key in left or key[:15] in left:
            outcomes.append(WriteOutcome(key, False, "UNPROCESSED: Salesforce did not process it"))
        else:
            outcomes.append(WriteOutcome(key, False, _NO_RESULT))
    return outcomes
