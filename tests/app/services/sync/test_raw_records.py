"""The raw layer keeps one row per record, ignores stale and repeated reads, soft-deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core.database import Database
from app.models import Connection, RawRecord
from app.services.sync.raw_records import RawRecordWriter, UpsertCounts, payload_hash
from connectors.core import Record

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _connection_id(db: Database) -> int:
    with db.session() as session:
        connection = Connection(name="acme", kind="salesforce", credentials_sealed="x")
        session.add(connection)
        session.flush()
        return connection.id


def _task(external_id: str, subject: str, at: datetime, deleted: bool = False) -> Record:
    return Record(external_id, at, {"Id": external_id, "Subject": subject}, deleted)


def _upsert(db: Database, connection_id: int, records: list[Record]) -> UpsertCounts:
    with db.engine.begin() as connection:
        return RawRecordWriter(connection, connection_id, "Task", batch_size=2).upsert(records)


def _stored(db: Database) -> dict[str, RawRecord]:
    with db.sessions() as session:
        return {row.external_id: row for row in session.scalars(select(RawRecord))}


def test_new_records_are_inserted_across_batches(db: Database) -> None:
    connection_id = _connection_id(db)
    records = [_task(f"00T{i}", f"Call {i}", T0) for i in range(5)]
    assert _upsert(db, connection_id, records) == UpsertCounts(new=5)
    stored = _stored(db)
    assert sorted(stored) == [f"00T{i}" for i in range(5)]
    assert stored["00T3"].payload == {"Id": "00T3", "Subject": "Call 3"}
    assert stored["00T3"].payload_hash == payload_hash({"Subject": "Call 3", "Id": "00T3"})


def test_rereading_an_unchanged_record_writes_nothing(db: Database) -> None:
    connection_id = _connection_id(db)
    _upsert(db, connection_id, [_task("00T1", "Call", T0)])
    assert _upsert(db, connection_id, [_task("00T1", "Call", T0)]) == UpsertCounts(unchanged=1)
    assert len(_stored(db)) == 1


def test_a_newer_version_replaces_the_payload(db: Database) -> None:
    connection_id = _connection_id(db)
    _upsert(db, connection_id, [_task("00T1", "Call", T0)])
    later = T0 + timedelta(hours=1)
    assert _upsert(db, connection_id, [_task("00T1", "Call back", later)]) == UpsertCounts(
        changed=1
    )
    stored = _stored(db)["00T1"]
    assert (stored.payload["Subject"], stored.modified_at) == ("Call back", later)


def test_an_older_version_arriving_late_never_overwrites(db: Database) -> None:
    connection_id = _connection_id(db)
    _upsert(db, connection_id, [_task("00T1", "Newest", T0 + timedelta(days=1))])
    assert _upsert(db, connection_id, [_task("00T1", "Stale", T0)]) == UpsertCounts(unchanged=1)
    assert _stored(db)["00T1"].payload["Subject"] == "Newest"


def test_a_deletion_is_a_soft_delete(db: Database) -> None:
    connection_id = _connection_id(db)
    _upsert(db, connection_id, [_task("00T1", "Call", T0)])
    gone = _task("00T1", "Call", T0 + timedelta(minutes=5), deleted=True)
    assert _upsert(db, connection_id, [gone]) == UpsertCounts(deleted=1)
    stored = _stored(db)["00T1"]
    assert stored.deleted is True
    assert stored.payload["Subject"] == "Call"


def test_a_page_repeating_a_record_keeps_its_newest_version(db: Database) -> None:
    connection_id = _connection_id(db)
    versions = [_task("00T1", "New", T0 + timedelta(hours=1)), _task("00T1", "Old", T0)]
    assert _upsert(db, connection_id, versions) == UpsertCounts(new=1)
    assert _stored(db)["00T1"].payload["Subject"] == "New"


def test_naive_timestamps_are_refused(db: Database) -> None:
    connection_id = _connection_id(db)
    naive = Record("00T1", datetime(2026, 1, 5, 9, 0), {"Id": "00T1"})
    with pytest.raises(ValueError, match="timezone-aware"):
        _upsert(db, connection_id, [naive])
    assert _stored(db) == {}


def test_a_tombstone_soft_deletes_and_keeps_the_stored_payload(db: Database) -> None:
    connection_id = _connection_id(db)
    _upsert(db, connection_id, [_task("00T1", "Call", T0)])
    deleted_at = T0 + timedelta(days=2)
    tombstone = Record("00T1", deleted_at, {}, deleted=True, tombstone=True)
    assert _upsert(db, connection_id, [tombstone]) == UpsertCounts(deleted=1)
    stored = _stored(db)["00T1"]
    assert (stored.deleted, stored.payload["Subject"], stored.modified_at) == (
        True,
        "Call",
        deleted_at,
    )
    assert _upsert(db, connection_id, [tombstone]) == UpsertCounts(unchanged=1)


def test_a_tombstone_for_a_record_never_stored_is_ignored(db: Database) -> None:
    connection_id = _connection_id(db)
    tombstone = Record("00T9", T0, {}, deleted=True, tombstone=True)
    assert _upsert(db, connection_id, [tombstone]) == UpsertCounts(unchanged=1)
    assert _stored(db) == {}
