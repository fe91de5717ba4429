"""The schema's identities: what may not be stored twice, and how time is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from app.core.database import Database
from app.models import (
    Connection,
    Milestone,
    MilestoneEvent,
    Opportunity,
    Process,
    RawRecord,
    RulesetVersion,
)

NOW = datetime(2026, 3, 4, 10, 15, tzinfo=UTC)


def _connection(db: Database) -> int:
    with db.session() as session:
        connection = Connection(name="acme", kind="salesforce", credentials_sealed="x")
        session.add(connection)
        session.flush()
        return connection.id


def _raw(connection_id: int, external_id: str = "00T000000000001AAA") -> RawRecord:
    return RawRecord(
        connection_id=connection_id,
        stream="Task",
        external_id=external_id,
        modified_at=NOW,
        payload={"Id": external_id},
        payload_hash="h",
    )


def test_a_raw_record_is_unique_per_connection_stream_and_external_id(db: Database) -> None:
    connection_id = _connection(db)
    with db.session() as session:
        session.add(_raw(connection_id))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(_raw(connection_id))


def test_datetimes_come_back_timezone_aware_in_utc(db: Database) -> None:
    connection_id = _connection(db)
    plus_two = timezone(timedelta(hours=2))
    record = _raw(connection_id)
    record.modified_at = datetime(2026, 3, 4, 12, 15, tzinfo=plus_two)
    with db.session() as session:
        session.add(record)
    with db.sessions() as session:
        stored = session.scalars(select(RawRecord)).one()
    assert stored.modified_at == NOW
    assert stored.modified_at.tzinfo == UTC


def test_naive_datetimes_are_refused(db: Database) -> None:
    connection_id = _connection(db)
    record = _raw(connection_id)
    record.modified_at = datetime(2026, 3, 4, 10, 15)
    with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
        session.add(record)


def test_reprocessing_cannot_duplicate_a_milestone_event(db: Database) -> None:
    connection_id = _connection(db)
    with db.session() as session:
        version = RulesetVersion(version=1, name="v1", source="", checksum="c")
        process = Process(ruleset_version=version, key="enterprise", name="Enterprise", position=1)
        milestone = Milestone(
            process=process, key="replied", name="Replied", position=1, kind="writes"
        )
        opportunity = Opportunity(
            connection_id=connection_id,
            external_id="006000000000001AAA",
            name="Acme renewal",
            crm_created_at=NOW,
        )
        session.add_all([version, process, milestone, opportunity])
        session.flush()
        identity = {
            "ruleset_version_id": version.id,
            "opportunity_id": opportunity.id,
            "milestone_id": milestone.id,
            "rule_key": "incoming-email",
            "evidence_connection_id": connection_id,
            "evidence_stream": "EmailMessage",
            "evidence_external_id": "02s000000000001AAA",
        }
        session.add(MilestoneEvent(occurred_at=NOW, **identity))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(MilestoneEvent(occurred_at=NOW + timedelta(days=1), **identity))


def test_milestone_kind_is_a_closed_vocabulary(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as session:
        version = RulesetVersion(version=7, name="v7", source="", checksum="c")
        process = Process(ruleset_version=version, key="smb", name="SMB", position=1)
        session.add(Milestone(process=process, key="x", name="X", position=1, kind="believes"))
