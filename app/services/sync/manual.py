"""A sync started by hand (`milestones sync`) honours the lock the workers use, so a connection
is never synced by two processes at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.core.database import Database
from app.core.errors import ConflictError
from app.services.jobs.locks import LockSession, ProcessLock, sync_lock_name

__all__ = ["connection_lock"]


@contextmanager
def connection_lock(database: Database, connection_id: int, name: str) -> Iterator[None]:
    """Hold the connection's sync lock, or say who holds it and what to do."""
    if database.is_sqlite:
        if ProcessLock(database).held_elsewhere():
            raise ConflictError(
                f"a worker serves this database and syncs {name} on its schedule; stop it to "
                "sync by hand, or queue a sync through the API"
            )
        yield
        return
    locks = LockSession.open(database)
    try:
        if not locks.try_lock(sync_lock_name(connection_id)):
            raise ConflictError(
                f"{name} is being synced by a worker right now; try again when it finishes "
                "(`milestones status` shows it)"
            )
        yield
    finally:
        locks.close()
