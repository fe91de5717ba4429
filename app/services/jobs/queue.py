"""The job queue: what to sync next, claimed by exactly one worker at a time.

Triggers (the leader's schedule, webhooks, the Salesforce trigger endpoint) `enqueue` a job;
a connection has at most one queued job, into which later triggers merge (their streams are
united, the earlier due time wins). Workers `claim` jobs:

1. `SELECT ... FOR UPDATE SKIP LOCKED` picks due jobs no other claim is looking at;
2. the worker takes the connection's advisory lock (`app.services.jobs.locks`) and keeps it, on its
   own database session, until the job is finished: a connection is synced by one worker at a
   time, whatever the number of workers and machines;
3. a job still marked `running` whose connection lock is free belongs to a worker that died
   (its session ended with it): the next claim takes it over and the sync resumes from its
   last committed page.

    queue = JobQueue(database, locks, worker="host:123")
    job = queue.claim()
    if job:
        ...                         # run the pipeline
        queue.finish(job, "succeeded", result={...})
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection as DbConnection
from sqlalchemy import and_, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from app.core.database import Database
from app.models import Connection, SyncJob, SyncRun
from app.models.base import cancel_running, utcnow
from app.services.jobs.locks import LockSession, sync_lock_name

__all__ = [
    "ClaimedJob",
    "JobQueue",
    "enqueue",
    "merge_streams",
    "prune",
    "queue_depth",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

ORPHAN_SCAN_SECONDS = 5.0
"""How often a worker looks for jobs whose worker died (takeover well within 2 minutes)."""


def merge_streams(first: Sequence[str] | None, second: Sequence[str] | None) -> list[str] | None:
    """Streams of two merged triggers: None means every stream and absorbs the rest."""
    if first is None or second is None:
        return None
    return sorted(set(first) | set(second))


def _retrying(database: Database, work: Callable[[], T], attempts: int = 5) -> T:
    """SQLite refuses a write whose read snapshot another process's commit made stale; redo it."""
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError:
            if not database.is_sqlite or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def enqueue(
    database: Database,
    connection_id: int,
    trigger: str,
    streams: Sequence[str] | None = None,
    run_at: datetime | None = None,
) -> int:
    """Queue a pipeline run for the connection, or merge into the one already queued."""
    wanted = sorted(set(streams)) if streams is not None else None
    due = run_at or utcnow()

    def work() -> int:
        with database.engine.begin() as db:
            return _enqueue(db, connection_id, trigger, wanted, due)

    return _retrying(database, work)


def _enqueue(
    db: DbConnection, connection_id: int, trigger: str, streams: list[str] | None, due: datetime
) -> int:
    queued = db.execute(
        select(SyncJob.id, SyncJob.streams, SyncJob.run_at)
        .where(SyncJob.connection_id == connection_id, SyncJob.status == "queued")
        .with_for_update()
    ).first()
    if queued is not None:
        merged = db.execute(
            update(SyncJob)
            .where(SyncJob.id == queued.id, SyncJob.status == "queued")
            .values(
                streams=merge_streams(queued.streams, streams),
                run_at=min(queued.run_at, due),
            )
        )
        if merged.rowcount:
            return int(queued.id)
    # No queued job (or it was claimed meanwhile): insert; a concurrent insert merges instead.
    dialect_insert = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(SyncJob).values(
        connection_id=connection_id,
        trigger=trigger,
        streams=streams,
        status="queued",
        run_at=due,
        enqueued_at=utcnow(),
        attempts=0,
        result={},
    )
    excluded = statement.excluded
    # A race with another trigger: the same streams stay, different ones widen to all.
    merged_streams = (
        case((SyncJob.streams == excluded.streams, SyncJob.streams), else_=literal(None))
        if streams is not None
        else literal(None)
    )
    earlier = case((excluded.run_at < SyncJob.run_at, excluded.run_at), else_=SyncJob.run_at)
    upsert = statement.on_conflict_do_update(
        index_elements=[SyncJob.connection_id],
        index_where=SyncJob.status == "queued",
        set_={"streams": merged_streams, "run_at": earlier},
    ).returning(SyncJob.id)
    return int(db.execute(upsert).scalar_one())


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    connection_id: int
    connection: str
    trigger: str
    streams: list[str] | None
    attempts: int
    taken_over_from: str | None = None
    """The worker that died holding this job, when this claim took it over."""


class JobQueue:
    """Claims and finishes jobs for one worker slot, under that slot's `LockSession`."""

    def __init__(self, database: Database, locks: LockSession, worker: str) -> None:
        self.database = database
        self.locks = locks
        self.worker = worker
        self._next_orphan_scan = 0.0

    # claiming ---------------------------------------------------------------------------
    def claim(self) -> ClaimedJob | None:
        """The next due job whose connection nobody else syncs now; None when there is none."""

        def work() -> ClaimedJob | None:
            if time.monotonic() >= self._next_orphan_scan:
                self._next_orphan_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
                job = self._claim_where(SyncJob.status == "running", takeover=True)
                if job is not None:
                    return job
            return self._claim_where(
                and_(SyncJob.status == "queued", SyncJob.run_at <= utcnow()), takeover=False
            )

        return _retrying(self.database, work)

    def _claim_where(self, condition: Any, *, takeover: bool) -> ClaimedJob | None:
        db = self.locks.connection
        if db is None:
            with self.database.engine.connect() as local:
                return self._claim_in(local, condition, takeover)
        return self._claim_in(db, condition, takeover)

    def _claim_in(self, db: DbConnection, condition: Any, takeover: bool) -> ClaimedJob | None:
        locked: str | None = None
        try:
            with db.begin():
                rows = db.execute(
                    select(SyncJob.id, SyncJob.connection_id)
                    .where(condition)
                    .order_by(SyncJob.run_at, SyncJob.id)
                    .limit(50)
                    .with_for_update(skip_locked=True)
                ).all()
                for connection_id in dict.fromkeys(int(row[1]) for row in rows):
                    name = sync_lock_name(connection_id)
                    if self.locks.try_lock(name):
                        locked = name
                        job_id = next(int(row[0]) for row in rows if row[1] == connection_id)
                        return self._take(db, job_id, connection_id, takeover)
        except BaseException:
            if locked is not None:
                self.locks.unlock(locked)  # after the rollback, in a usable session
            raise
        return None

    def _take(
        self, db: DbConnection, job_id: int, connection_id: int, takeover: bool
    ) -> ClaimedJob:
        """Under the connection's lock: whatever else is `running` for it was left by the dead."""
        now = utcnow()
        job = db.execute(select(SyncJob).where(SyncJob.id == job_id)).one()
        streams: list[str] | None = job.streams
        lost = db.execute(
            select(SyncJob.id, SyncJob.worker, SyncJob.streams).where(
                SyncJob.connection_id == connection_id,
                SyncJob.status == "running",
                SyncJob.id != job_id,
            )
        ).all()
        for orphan in lost:
            streams = merge_streams(streams, orphan.streams)
            db.execute(
                update(SyncJob)
                .where(SyncJob.id == orphan.id)
                .values(
                    status="failed",
                    finished_at=now,
                    error=f"worker {orphan.worker} was lost; job {job_id} resumes its work",
                )
            )
        previous = job.worker if takeover else (lost[0].worker if lost else None)
        if previous is not None or takeover:
            db.execute(
                cancel_running(
                    SyncRun,
                    connection_id,
                    f"worker {previous} was lost; resumed by job {job_id}",
                    now,
                )
            )
        db.execute(
            update(SyncJob)
            .where(SyncJob.id == job_id)
            .values(
                status="running",
                streams=streams,
                worker=self.worker,
                started_at=now,
                attempts=SyncJob.attempts + 1,
                error=f"taken over from worker {previous}" if takeover else None,
            )
        )
        name = db.execute(
            select(Connection.name).where(Connection.id == connection_id)
        ).scalar_one()
        if previous is not None:
            log.warning(
                "taking over a lost worker's job",
                extra={"job": job_id, "connection": name, "lost_worker": previous},
            )
        return ClaimedJob(
            id=job_id,
            connection_id=connection_id,
            connection=name,
            trigger=job.trigger,
            streams=streams,
            attempts=job.attempts + 1,
            taken_over_from=previous,
        )

    # finishing --------------------------------------------------------------------------
    def finish(
        self,
        job: ClaimedJob,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        sync_run_id: int | None = None,
        error: str | None = None,
    ) -> None:
        """Record the outcome, then free the connection; a stopped job is queued again."""
        try:

            def work() -> None:
                with self.database.engine.begin() as db:
                    values: dict[str, Any] = {
                        "status": status,
                        "finished_at": utcnow(),
                        "result": result or {},
                        "sync_run_id": sync_run_id,
                    }
                    if error is not None:  # else keep the takeover note, if any
                        values["error"] = error
                    db.execute(update(SyncJob).where(SyncJob.id == job.id).values(**values))
                    if status == "stopped":
                        _enqueue(db, job.connection_id, "resume", job.streams, utcnow())

            _retrying(self.database, work)
        finally:
            self.locks.unlock(sync_lock_name(job.connection_id))


def prune(database: Database, keep: timedelta = timedelta(days=14)) -> int:
    """Forget finished jobs older than `keep` (sync runs keep the history)."""
    with database.engine.begin() as db:
        removed = db.execute(
            delete(SyncJob).where(
                SyncJob.status.in_(("succeeded", "partial", "failed", "stopped")),
                SyncJob.finished_at < utcnow() - keep,
            )
        )
    return int(removed.rowcount or 0)


def queue_depth(database: Database) -> dict[str, int]:
    with database.sessions() as session:
        rows = session.execute(
            select(SyncJob.status, func.count())
            .where(or_(SyncJob.status == "queued", SyncJob.status == "running"))
            .group_by(SyncJob.status)
        ).all()
    return {str(status): int(count) for status, count in rows}
