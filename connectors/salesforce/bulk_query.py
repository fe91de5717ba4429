"""A Bulk API 2.0 query job read as a stream of rows: memory stays flat whatever its size.

    job_id = client.call(lambda sf: create_query_job(sf, "SELECT Id FROM Task"))
    wait_for_job(client, job_id, poll_seconds=2.0)
    rows = result_rows(client, job_id)            # CSV cells: the header, then every row
    header = next(rows)

The job runs `queryAll` (deleted and archived rows too). Its results are asked for without a
`maxRecords`, so Salesforce sends them in as few result sets (calls) as it likes, and each set
is parsed as it arrives: the CSV is never held whole, so a set of a million rows costs no more
memory than one of a thousand. Every call passes through the client (accounting, re-login,
retries, error translation); the bytes of a streamed set are counted as they are read. A set
that breaks off mid-way raises (translated by the caller): a failed stream cannot go on, and the
stream's next run starts the load again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.util import call_salesforce

from connectors.core.errors import ConnectorError, MalformedResponse
from connectors.salesforce.client import SalesforceClient

__all__ = ["BulkQueryFailed", "create_query_job", "result_rows", "wait_for_job"]

_CHUNK = 64 * 1024  # bytes read from the socket at a time


class BulkQueryFailed(ConnectorError):
    """Salesforce failed or aborted the query job; its `errorMessage` says why."""


def create_query_job(sf: Salesforce, soql: str) -> str:
    """Start a `queryAll` job for `soql`; its id."""
    payload = {"operation": "queryAll", "query": soql, "columnDelimiter": "COMMA",
               "lineEnding": "LF"}  # fmt: skip
    job = sf.restful("jobs/query", method="POST", json=payload)
    if not isinstance(job, dict) or not job.get("id"):
        raise MalformedResponse(f"Salesforce answered a query job with {str(job)[:200]}")
    return str(job["id"])


def wait_for_job(client: SalesforceClient, job_id: str, poll_seconds: float) -> None:
    """Poll every `poll_seconds` until the job is complete; a failed job raises, and a stop
    asked meanwhile (the client's retry policy's) ends the wait at once."""
    while True:
        client.retry.pause(poll_seconds, f"for Bulk API query job {job_id}")
        job: Any = client.call(lambda sf: sf.restful(f"jobs/query/{job_id}"))
        state = job.get("state") if isinstance(job, dict) else None
        if state == "JobComplete":
            return
        if state in ("Failed", "Aborted"):
            reason = job.get("errorMessage") or state
            raise BulkQueryFailed(f"Salesforce Bulk API query job {job_id}: {reason}")
        if state not in ("UploadComplete", "InProgress"):
            raise MalformedResponse(f"Salesforce query job {job_id} in state {state!r}")


class _Body(io.RawIOBase):
    """A streamed response body as a file, counting the bytes into the run's budget.

    `iter_content` (not `response.raw`) so that a connection lost mid-body raises a `requests`
    error, which the caller translates like any other."""

    def __init__(self, response: requests.Response, client: SalesforceClient) -> None:
        self._chunks = response.iter_content(_CHUNK)
        self._client = client
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._left:
            self._left = next(self._chunks, b"")
            self._client.budget.add_bytes(len(self._left))
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


def _result_set(job_id: str, locator: str) -> Any:
    def operation(sf: Salesforce) -> requests.Response:
        url = f"{sf.base_url}jobs/query/{job_id}/results"
        params = {"locator": locator} if locator else None
        headers = {**sf.headers, "Accept": "text/csv"}
        return call_salesforce(url, "GET", sf.session, headers, params=params, stream=True)

    return operation


def result_rows(client: SalesforceClient, job_id: str) -> Iterator[list[str]]:
    """The job's CSV rows: the header once, then the rows of every result set in turn."""
    header: list[str] | None = None
    locator = ""
    while True:
        response: requests.Response = client.call(_result_set(job_id, locator))
        with response:
            text = io.TextIOWrapper(io.BufferedReader(_Body(response, client)), "utf-8",
                                    newline="")  # fmt: skip
            rows = csv.reader(text)
            first = next(rows, None)
            if header is None:
                header = first
                if header is None:
                    return
                yield header
            elif first != header:
                raise MalformedResponse(
                    f"Salesforce query job {job_id}: a result set with columns {first!r} "
                    f"after {header!r}"
                )
            yield from rows
        locator = response.headers.get("Sforce-Locator") or ""
        if locator in ("", "null"):
            return
