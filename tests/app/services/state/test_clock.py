"""The data clock: one "now" for every reader, from the CRMs' own time as last synced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.core.database import Database
from app.models import Connection, RawRecord, StreamCursor, SyncRun
from app.services.state.clock import data_clock

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CRM_NOW = datetime(2025, 7, 1, 9, tzinfo=UTC)  # a replayed history's own "now"


def _connection(
    db: Database, name: str, kind: str, records: dict[str, tuple[datetime, datetime]]
) -> None:
    """A connection whose streams' newest records were modified at M and stored at S."""
    with db.session() as session:
        connection = Connection(name=name, kind=kind, credentials_sealed="x")
        session.add(connection)
        session.flush()
        for stream, (modified, synced) in records.items():
            session.add(StreamCursor(connection_id=connection.id, stream=stream))
            session.add(
                RawRecord(
                    connection_id=connection.id,
                    stream=stream,
                    external_id=f"{stream}-1",
                    modified_at=modified,
                    payload={},
                    payload_hash="h",
                    synced_at=synced,
                )
            )
        session.commit()


def test_the_crm_clock_is_its_newest_change_moved_on_by_the_time_since_it_was_stored(
    db: Database,
) -> None:
    stored = NOW - timedelta(minutes=5)
    _connection(db, "acme", "salesforce", {"Task": (CRM_NOW, stored)})
    with db.sessions() as session:
        assert data_clock(session, "data", NOW) == CRM_NOW + timedelta(minutes=5)
        assert data_clock(session, "clock", NOW) == NOW
        fixed = datetime(2025, 1, 1, tzinfo=UTC)
        assert data_clock(session, fixed, NOW) == fixed


def test_our_own_writes_coming_back_do_not_move_the_clock(db: Database) -> None:
    """Opportunities and accounts (deals and companies) come back after a write-back stamped
    with the CRM's time of the write; the clock reads only the streams we never write."""
    stored = NOW - timedelta(minutes=5)
    written_back = CRM_NOW + timedelta(days=30)
    _connection(
        db,
        "acme",
        "salesforce",
        {
            "Task": (CRM_NOW, stored),
            "Opportunity": (written_back, stored),
            "Account": (written_back, stored),
        },
    )
    _connection(
        db,
        "portal",
        "hubspot",
        {
            "emails": (CRM_NOW, stored),
            "deals": (written_back, stored),
            "companies": (written_back, stored),
        },
    )
    with db.sessions() as session:
        assert data_clock(session, "data", NOW) == CRM_NOW + timedelta(minutes=5)


def test_an_export_is_as_of_its_newest_record_and_the_latest_connection_wins(db: Database) -> None:
    _connection(db, "file", "export", {"Task": (CRM_NOW, NOW - timedelta(days=2))})
    with db.sessions() as session:
        assert data_clock(session, "data", NOW) == CRM_NOW
    later = CRM_NOW + timedelta(hours=3)
    _connection(db, "live", "salesforce", {"Task": (later, NOW)})
    with db.sessions() as session:
        assert data_clock(session, "data", NOW) == later


def test_with_nothing_synced_the_clock_is_the_wall_clock(db: Database) -> None:
    with db.sessions() as session:
        assert data_clock(session, "data", NOW) == NOW


def _synced(db: Database, name: str, finished: datetime, status: str = "succeeded") -> None:
    with db.session() as session:
        connection_id = session.scalars(select(Connection.id).where(Connection.name == name)).one()
        session.add(
            SyncRun(
                connection_id=connection_id,
                status=status,
                started_at=finished - timedelta(minutes=1),
                finished_at=finished,
            )
        )
        session.commit()


def test_the_clock_is_read_when_the_last_successful_sync_finished_not_when_it_is_asked(
    db: Database,
) -> None:
    """Every reader, whenever it looks, reads the same instant: the API answering an hour
    after the write-back computed its fields answers as of the same instant."""
    stored = NOW - timedelta(minutes=5)
    _connection(db, "acme", "salesforce", {"Task": (CRM_NOW, stored)})
    _synced(db, "acme", NOW - timedelta(minutes=4))
    expected = CRM_NOW + timedelta(minutes=1)
    with db.sessions() as session:
        assert data_clock(session, "data", NOW) == expected
        assert data_clock(session, "data", NOW + timedelta(hours=1)) == expected
    _synced(db, "acme", NOW + timedelta(minutes=2), status="failed")  # learnt nothing new
    with db.sessions() as session:
        assert data_clock(session, "data", NOW + timedelta(hours=1)) == expected
    _synced(db, "acme", NOW + timedelta(minutes=3), status="partial")  # the next pass
    with db.sessions() as session:
        assert data_clock(session, "data", NOW + timedelta(hours=1)) == CRM_NOW + timedelta(
            minutes=8
        )


def test_a_record_a_running_sync_stored_moves_the_clock_to_its_own_time(db: Database) -> None:
    _connection(db, "acme", "salesforce", {"Task": (CRM_NOW, NOW)})
    _synced(db, "acme", NOW - timedelta(minutes=10))  # before the record was stored
    with db.sessions() as session:
        assert data_clock(session, "data", NOW + timedelta(hours=1)) == CRM_NOW
