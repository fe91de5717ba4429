"""A sync started by hand (`milestones sync`) honours the lock the workers use, so a connection
is never synced by two processes at once; holding it, a run still marked running belongs to a
process that died (a `milestones sync` killed outright) and is closed as cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.core.database import Database
from app.core.errors import ConflictError
from app.models import SyncRun
from app.models.base import cancel_running
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
        _close_abandoned(database, connection_id)
        yield
        return
    locks = LockSession.open(database)
    try:
        if not locks.try_lock(sync_lock_name(connection_id)):
            raise ConflictError(
                f"{name} is being synced by a worker right now; try again when it finishes "
                "(`milestones status` shows it)"
            )
        _close_abandoned(database, connection_id)
        yield
    finally:
        locks.close()


def _close_abandoned(database: Database, connection_id: int) -> None:
    with database.session() as session:
        session.execute(
            cancel_running(
                SyncRun,
                connection_id,
                "the process running it ended without finishing (killed or lost); the next "
                "run went on from its last stored page",
            )
        )
