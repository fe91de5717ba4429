"""The Bulk API 2.0 jobs of one kind (query or ingest), by id, created at start-up per app.

    jobs = JobRegistry[IngestJob](marker="8Z")
    job = jobs.register(lambda job_id: IngestJob(job_id, ...))
    jobs.find(job_id)            # 404 NOT_FOUND when there is none

Ids are 18-character job ids ('750...'); the marker keeps the two kinds' ids apart.
`read_job_request` and `description_head` are how every job is asked for and described.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Request

from sandbox.crm.errors import SalesforceError
from sandbox.crm.ids import KEY_PREFIXES, to18
from sandbox.crm.salesforce.wire import not_found, read_json

__all__ = ["JobRegistry", "description_head", "read_job_request"]

J = TypeVar("J")


class JobRegistry(Generic[J]):
    def __init__(self, marker: str) -> None:
        self._jobs: dict[str, J] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._marker = marker

    def register(self, make: Callable[[str], J]) -> J:
        """A new job, made from its fresh id."""
        with self._lock:
            job_id = to18(f"{KEY_PREFIXES['Job']}{self._marker}{next(self._numbers):010d}")
            job = make(job_id)
            self._jobs[job_id] = job
            return job

    def find(self, job_id: str) -> J:
        job = self._jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def all(self) -> list[J]:
        return list(self._jobs.values())


async def read_job_request(request: Request) -> dict[str, Any]:
    """A create request's body: a JSON object describing the job."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of job")
    return body


class _Job(Protocol):
    id: str
    operation: str
    object_name: str
    created: str
    state: str
    version: str


def description_head(job: _Job, user_id: str, modstamp: str) -> dict[str, Any]:
    return {
        "id": job.id,
        "operation": job.operation,
        "object": job.object_name,
        "createdById": user_id,
        "createdDate": job.created,
        "systemModstamp": modstamp,
        "state": job.state,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.version),
    }
