"""Write-back through Salesforce Bulk API 2.0 ingest jobs (the sandbox over HTTPS, driven by
simple-salesforce's bulk2), above the connection's `writeback_bulk_threshold`: the same values
and the same per-record bookkeeping as sObject Collections, in a handful of calls.

Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from app.core.crypto import SecretBox
from app.core.errors import InvalidRequestError
from app.models import WritebackRecord
from app.services.writeback.fields import OPPORTUNITY_FIELDS
from sandbox.crm.faults import Fault
from tests.conftest import FreshDatabases
from tests.support.writeback_world import World, shared_world

FIELDS = [entry.salesforce for entry in OPPORTUNITY_FIELDS]
BULK = ("bulk_ingest_create", "bulk_ingest_upload", "bulk_ingest_state", "bulk_ingest_status")


@pytest.fixture(scope="module")
def shared(fresh_databases: FreshDatabases, sales_history: Path, box: SecretBox) -> Iterator[World]:
    with shared_world(fresh_databases, sales_history, "salesforce", box) as built:
        yield built


@pytest.fixture
def ready(shared: World) -> World:
    """Nothing written yet; every opportunity goes through one ingest job (threshold 100)."""
    world = shared.reset()
    world.connect(writeback_bulk_threshold=100, bulk_poll_seconds=0.01)
    return world


def _calls(world: World, *endpoints: str) -> int:
    return sum(world.sandbox.calls[f"salesforce.{name}"] for name in endpoints)


def _fields(world: World) -> dict[str, dict[str, Any]]:
    """Every opportunity's write-back fields as the org holds them."""
    rows = world.sandbox.salesforce.tables["Opportunity"]
    return {record_id: {f: row.get(f) for f in FIELDS} for record_id, row in rows.items()}


def _blank(world: World) -> None:
    """The org's write-back fields empty again, as before any write."""
    for row in world.sandbox.salesforce.tables["Opportunity"].values():
        row.update(dict.fromkeys(FIELDS))


def _time_passes(world: World) -> None:
    with world.db.engine.begin() as connection:
        connection.execute(
            update(WritebackRecord).values(next_attempt_at=world.now - timedelta(seconds=1))
        )


def test_above_the_threshold_one_job_writes_what_collections_would_write(ready: World) -> None:
    calls = ready.sandbox.calls.total("salesforce")
    bulk = ready.writeback()
    assert bulk.status == "succeeded", bulk
    assert bulk.records_written == bulk.records_changed > 200
    assert _calls(ready, "collections_update") == 0
    assert _calls(ready, "bulk_ingest_create", "bulk_ingest_upload") == 2  # one job
    assert _calls(ready, "bulk_ingest_results") == 0  # every record saved: no result read
    job_calls = _calls(ready, *BULK)
    assert bulk.write_calls == job_calls == 6  # create, upload, close, two polls, job info
    assert (bulk.bulk_jobs, bulk.model_dump(mode="json")["bulk_jobs"]) == (1, 1)
    assert bulk.api_calls == ready.sandbox.calls.total("salesforce") - calls == job_calls + 2
    by_bulk, records_by_bulk = _fields(ready), ready.records()
    assert any(v["Milestone__c"] for v in by_bulk.values())

    _blank(ready)
    ready.reset()  # nothing written yet, default threshold (10,000): Collections
    collections = ready.writeback()
    assert collections.records_written == bulk.records_written
    assert collections.bulk_jobs == 0
    assert _calls(ready, "collections_update") == math.ceil(bulk.records_written / 200)
    assert _calls(ready, "bulk_ingest_create") == 0
    assert _fields(ready) == by_bulk
    assert {k: r.values_hash for k, r in ready.records().items()} == {
        k: r.values_hash for k, r in records_by_bulk.items()
    }


def test_refused_records_of_a_job_fail_alone_and_are_retried_later(ready: World) -> None:
    ids = sorted(ready.store.snapshot().info[k].external_id for k in ready.store.snapshot().info)
    locked, hidden, deleted = ids[5], ids[120], ids[9]
    ready.sandbox.faults.add(
        Fault("record_error", api="salesforce", ids=[locked], code="UNABLE_TO_LOCK_ROW", times=None)
    )
    ready.sandbox.faults.add(
        Fault(
            "record_error",
            api="salesforce",
            ids=[hidden],
            code="INSUFFICIENT_ACCESS_OR_READONLY",
            times=None,
        )
    )
    ready.sandbox.salesforce.delete(deleted, ready.sandbox.now())
    try:
        first = ready.writeback()
        assert (first.status, first.records_failed) == ("partial", 3)
        assert first.records_written == first.records_changed - 3
        assert _calls(ready, "bulk_ingest_create") == 1
        assert _calls(ready, "bulk_ingest_results") == 2  # successful and failed rows
        records = ready.records()
        assert records[locked].last_error == (
            "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"
        )
        assert records[hidden].last_error == (
            "INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id"
        )
        assert records[deleted].last_error == "ENTITY_IS_DELETED: entity is deleted"
        assert records[locked].next_attempt_at == ready.now + timedelta(minutes=5)
        assert records[ids[6]].failures == 0 and records[ids[6]].values_hash is not None

        waiting = ready.writeback()  # before the retry time: nothing is sent or re-sent
        assert (waiting.records_deferred, waiting.api_calls) == (3, 0)
        ready.sandbox.faults.clear()
        _time_passes(ready)
        retried = ready.writeback()  # three records: below the threshold, one Collections call
        assert (retried.records_written, retried.records_failed) == (2, 1)
        assert _calls(ready, "collections_update") == 1
        assert _calls(ready, "bulk_ingest_create") == 1
        assert ready.records()[locked].values_hash is not None
    finally:  # the world is shared: bring the deleted opportunity back
        ready.sandbox.salesforce.tables["Opportunity"][deleted]["IsDeleted"] = False


def test_a_job_that_fails_as_a_whole_leaves_every_record_queued_with_the_reason(
    ready: World,
) -> None:
    _blank(ready)
    ready.sandbox.faults.add(Fault("job_failed", api="salesforce", times=None))
    report = ready.writeback()
    assert report.records_written == 0 and report.status == "failed"
    assert report.records_failed == report.records_changed
    records = ready.records()
    assert len(records) == report.records_changed  # nothing silently dropped
    assert all(
        str(r.last_error).startswith("the whole call was rejected: Salesforce Bulk API job")
        and "ExceededQuota : Daily limit of records processed by Bulk API exceeded"
        in str(r.last_error)
        and r.values_hash is None
        for r in records.values()
    )
    assert all(v["Milestone__c"] is None for v in _fields(ready).values())

    ready.sandbox.faults.clear()
    _time_passes(ready)
    later = ready.writeback()
    assert later.records_written == report.records_changed and later.records_failed == 0


def test_the_threshold_is_a_positive_count_or_null(ready: World) -> None:
    with pytest.raises(InvalidRequestError, match="writeback_bulk_threshold"):
        ready.connect(writeback_bulk_threshold=0)
    ready.connect(writeback_bulk_threshold=None)
    report = ready.writeback()
    assert report.status == "succeeded" and _calls(ready, "bulk_ingest_create") == 0
