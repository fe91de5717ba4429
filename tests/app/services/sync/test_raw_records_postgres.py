"""The bulk path (statements pipelined, PostgreSQL) stores exactly what the row path stores:
the same rows, the same counts of new, changed, unchanged, deleted and quarantined records,
whether a batch is one statement or several (`bulk-chunks`: two records per statement, so
the next statement is prepared while one is in flight within a batch as well as across).

On SQLite only the row path exists; the same scenario then checks it against the counts
written here, so both databases are held to one specification.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from app.core.database import Database
from app.models import Connection, QuarantinedRecord, RawRecord, SyncRun, SyncRunStream
from app.services.sync import raw_records, runs
from app.services.sync.raw_records import STATEMENT_ROWS, RawRecordWriter, UpsertCounts
from app.services.sync.runs import DatabaseSink
from connectors.core import CursorState, Page, Record, StreamSpec
from connectors.core.engine import Quarantined

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _task(external_id: str, subject: str, at: datetime, deleted: bool = False) -> Record:
    return Record(external_id, at, {"Id": external_id, "Subject": subject}, deleted)


def _tombstone(external_id: str, at: datetime) -> Record:
    return Record(external_id, at, {}, deleted=True, tombstone=True)


# Each step: the records of one sync page, and what storing them must count.
STEPS: list[tuple[list[Record], UpsertCounts]] = [
    (
        [
            _task("A", "Call", T0),
            _task("B", "Call", T0),
            _task("C", "Call", T0),
            _task("D", "Call", T0, deleted=True),  # first seen deleted
            _task("E", "Old", T0),
            _task("E", "New", T0 + HOUR),  # a page repeating a record: its newest wins
        ],
        UpsertCounts(new=4, deleted=1),
    ),
    (
        [
            _task("A", "Call", T0),  # re-read, unchanged
            _task("B", "Call back", T0 + HOUR),  # changed
            _task("C", "Stale", T0 - HOUR),  # older than stored: never overwrites
            _task("D", "Call, edited", T0 + HOUR, deleted=True),  # changed while deleted
            _task("E", "New", T0 + 2 * HOUR, deleted=True),  # deleted
            _tombstone("F", T0),  # never stored
        ],
        UpsertCounts(changed=2, deleted=1, unchanged=3),
    ),
    (
        [
            _tombstone("A", T0 + 3 * HOUR),  # soft-deletes, keeps the payload
            _tombstone("D", T0 + 3 * HOUR),  # already deleted
            _task("E", "New", T0 + 3 * HOUR),  # undeleted
            _task("B", "Call back", T0 + HOUR),  # the same version again
            _task("G", "Meeting", T0 + HOUR),
        ],
        UpsertCounts(new=1, changed=1, deleted=1, unchanged=2),
    ),
]


def _paths(db: Database) -> list[str]:
    return ["rows"] if db.is_sqlite else ["rows", "bulk", "bulk-chunks"]


def _writer(monkeypatch: pytest.MonkeyPatch, path: str) -> Callable[..., RawRecordWriter]:
    """The writer a path uses; `bulk-chunks` sends two records per statement."""
    monkeypatch.setattr(
        raw_records, "STATEMENT_ROWS", 2 if path == "bulk-chunks" else STATEMENT_ROWS
    )
    return partial(RawRecordWriter, bulk=path != "rows")


def _connection_id(db: Database, name: str) -> int:
    with db.session() as session:
        connection = Connection(name=name, kind="salesforce", credentials_sealed="x")
        session.add(connection)
        session.flush()
        return connection.id


def _stored(db: Database, connection_id: int) -> list[tuple[Any, ...]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(
                RawRecord.external_id,
                RawRecord.modified_at,
                RawRecord.deleted,
                RawRecord.payload,
                RawRecord.payload_hash,
                RawRecord.synced_at,
            )
            .where(RawRecord.connection_id == connection_id)
            .order_by(RawRecord.external_id)
        )
        return [tuple(row) for row in rows]


def _run_steps(
    db: Database, monkeypatch: pytest.MonkeyPatch, path: str
) -> tuple[list[UpsertCounts], list[tuple[Any, ...]]]:
    connection_id = _connection_id(db, path)
    counts = []
    for step, (records, _) in enumerate(STEPS):
        # Each step's sync time is fixed, so when each row was last written can be compared.
        synced_at = T0 + timedelta(days=1 + step)
        monkeypatch.setattr(raw_records, "utcnow", lambda at=synced_at: at)
        with db.engine.begin() as connection:
            writer = _writer(monkeypatch, path)(connection, connection_id, "Task", batch_size=4)
            counts.append(writer.upsert(records))
    return counts, _stored(db, connection_id)


def test_each_path_counts_what_it_stores(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    results = {path: _run_steps(db, monkeypatch, path) for path in _paths(db)}
    for counts, _ in results.values():
        assert counts == [expected for _, expected in STEPS]
    stored = results["rows"][1]
    by_id = {row[0]: row for row in stored}
    assert sorted(by_id) == ["A", "B", "C", "D", "E", "G"]
    assert by_id["A"][1:4] == (T0 + 3 * HOUR, True, {"Id": "A", "Subject": "Call"})
    assert by_id["C"][3]["Subject"] == "Call"
    assert (by_id["E"][2], by_id["E"][5]) == (False, T0 + timedelta(days=3))
    assert by_id["B"][5] == T0 + timedelta(days=2)  # the same version again wrote nothing


def test_the_bulk_path_stores_exactly_what_the_row_path_stores(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has the row path only")
    rows_counts, rows_stored = _run_steps(db, monkeypatch, "rows")
    for path in ("bulk", "bulk-chunks"):
        bulk_counts, bulk_stored = _run_steps(db, monkeypatch, path)
        assert bulk_counts == rows_counts, path
        assert bulk_stored == rows_stored, path


def test_a_bulk_upsert_failing_midway_stores_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record refused while earlier statements are in flight: the error reaches the
    caller and the transaction stores none of the batch."""
    if db.is_sqlite:
        pytest.skip("SQLite has the row path only")
    connection_id = _connection_id(db, "failing")
    records = [_task(f"R{i}", "Call", T0) for i in range(5)]
    records.append(Record("R5", datetime(2026, 1, 5, 9, 0), {"Id": "R5"}))  # naive: refused
    with pytest.raises(ValueError, match="timezone-aware"), db.engine.begin() as connection:
        _writer(monkeypatch, "bulk-chunks")(connection, connection_id, "Task").upsert(records)
    assert _stored(db, connection_id) == []
    with db.engine.begin() as connection:  # the connection is usable again
        counts = _writer(monkeypatch, "bulk-chunks")(connection, connection_id, "Task").upsert(
            records[:5]
        )
    assert counts == UpsertCounts(new=5)


def _sync_pages(db: Database, name: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Two pages through the sink a sync uses; its counters and quarantined rows."""
    connection_id = _connection_id(db, name)
    with db.session() as session:
        run = SyncRun(connection_id=connection_id)
        session.add(run)
        session.flush()
        run_id = run.id
    sink = DatabaseSink(db, connection_id, run_id)
    spec = StreamSpec("Task", "Task", "SystemModstamp")
    cursor = CursorState(start_value=None, last_value=T0, signpost=T0 + 9 * HOUR)
    for records, _ in STEPS[:2]:
        rejected = [Quarantined("Z", "missing SystemModstamp", {"Id": "Z"}), Quarantined(None, "x")]
        sink.commit_page(spec, Page(records, rejected), cursor)
    with db.engine.connect() as connection:
        counters = connection.execute(
            select(
                SyncRunStream.stream,
                SyncRunStream.records_read,
                SyncRunStream.records_new,
                SyncRunStream.records_changed,
                SyncRunStream.records_deleted,
                SyncRunStream.records_quarantined,
            ).where(SyncRunStream.sync_run_id == run_id)
        )
        quarantined = connection.execute(
            select(QuarantinedRecord.external_id, QuarantinedRecord.reason)
            .where(QuarantinedRecord.connection_id == connection_id)
            .order_by(QuarantinedRecord.id)
        )
        return [tuple(row) for row in counters], [tuple(row) for row in quarantined]


def test_a_sync_page_counts_the_same_on_either_path(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = {}
    for path in _paths(db):
        monkeypatch.setattr(runs, "RawRecordWriter", _writer(monkeypatch, path))
        results[path] = _sync_pages(db, path)
    for counters, quarantined in results.values():
        assert counters == [("Task", 12, 4, 2, 2, 4)]
        assert quarantined == [("Z", "missing SystemModstamp"), (None, "x")] * 2
