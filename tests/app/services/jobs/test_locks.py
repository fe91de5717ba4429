"""Locks: every lock is named and keyed in one place, so `milestones status` sees each one."""

from __future__ import annotations

import pytest

from app.core.database import Database
from app.core.errors import ConflictError
from app.models import Connection, RulesetVersion
from app.services.jobs.locks import LockSession, advisory_lock, held_locks, mapping_lock_name
from app.services.mapping.runs import _exclusive
from app.services.sync.status import sync_status


def _connection_and_version(db: Database) -> tuple[int, int]:
    with db.session() as session:
        connection = Connection(name="acme", kind="export", settings={}, credentials_sealed="-")
        version = RulesetVersion(version=1, name="rules.yaml", source="processes: []", checksum="c")
        session.add_all([connection, version])
        session.flush()
        return connection.id, version.id


def test_a_mapping_run_holds_a_lock_that_status_and_other_sessions_see(db: Database) -> None:
    connection_id, version_id = _connection_and_version(db)
    name = mapping_lock_name(version_id, connection_id)
    with db.engine.connect() as holder, _exclusive(holder, version_id, connection_id):
        status = sync_status(db)
        if db.is_sqlite:  # one writer at a time; SQLite has no lock to see
            assert status.scheduler.mapping is None
            return
        assert status.scheduler.mapping == 1
        assert held_locks(db, [name])[name] is not None
        other = LockSession.open(db)
        try:
            assert not other.try_lock(name)  # the lock session's key is the same key
        finally:
            other.close()
        with (
            db.engine.connect() as second,
            pytest.raises(ConflictError, match="in progress"),
            _exclusive(second, version_id, connection_id),
        ):
            pass
    assert held_locks(db, [name])[name] is None
    assert sync_status(db).scheduler.mapping == 0


def test_an_advisory_lock_is_released_when_its_block_fails(db: Database) -> None:
    with db.engine.connect() as holder:
        with pytest.raises(RuntimeError), advisory_lock(holder, "probe", "busy"):
            raise RuntimeError("the run failed")
        with advisory_lock(holder, "probe", "busy"):
            pass
    assert held_locks(db, ["probe"])["probe"] is None
