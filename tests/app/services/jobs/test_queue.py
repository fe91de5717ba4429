"""The job queue: one queued job per connection, one worker per connection, takeover of the
jobs of a worker that died. Runs on SQLite and PostgreSQL (locks in memory or advisory)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.database import Database
from app.models import Connection, SyncJob, SyncRun
from app.models.base import utcnow
from app.services.jobs.locks import LockSession, held_locks, sync_lock_name
from app.services.jobs.queue import JobQueue, enqueue, merge_streams


def _connection(db: Database, name: str = "acme") -> int:
    with db.session() as session:
        row = Connection(name=name, kind="export", settings={}, credentials_sealed="-")
        session.add(row)
        session.flush()
        return row.id


def _jobs(db: Database) -> list[SyncJob]:
    with db.sessions() as session:
        return list(session.scalars(select(SyncJob).order_by(SyncJob.id)))


def test_streams_merge_and_every_stream_absorbs_the_rest() -> None:
    assert merge_streams(["emails"], ["deals", "emails"]) == ["deals", "emails"]
    assert merge_streams(None, ["deals"]) is None
    assert merge_streams(["deals"], None) is None


def test_triggers_merge_into_the_one_queued_job(db: Database) -> None:
    acme = _connection(db)
    first = enqueue(db, acme, "webhook", ["emails"])
    later = utcnow() + timedelta(minutes=5)
    assert enqueue(db, acme, "webhook", ["deals"], run_at=later) == first
    [job] = _jobs(db)
    assert job.streams == ["deals", "emails"] and job.status == "queued"
    assert job.run_at <= utcnow()  # the earlier due time wins
    assert enqueue(db, acme, "schedule") == first
    assert _jobs(db)[0].streams is None


def test_a_connection_is_claimed_by_one_worker_at_a_time(db: Database) -> None:
    acme, other = _connection(db, "acme"), _connection(db, "other")
    enqueue(db, acme, "schedule")
    first_locks, second_locks = LockSession.open(db), LockSession.open(db)
    try:
        first, second = JobQueue(db, first_locks, "w1"), JobQueue(db, second_locks, "w2")
        job = first.claim()
        assert job is not None and job.connection == "acme" and job.attempts == 1
        enqueue(db, acme, "webhook", ["Task"])  # arrives while acme syncs: waits its turn
        assert second.claim() is None
        enqueue(db, other, "schedule")
        taken = second.claim()
        assert taken is not None and taken.connection == "other"
        assert held_locks(db, [sync_lock_name(acme)])[sync_lock_name(acme)] is not None
        first.finish(job, "succeeded", result={"ok": True})
        assert held_locks(db, [sync_lock_name(acme)])[sync_lock_name(acme)] is None
        queued = first.claim()
        assert queued is not None and queued.streams == ["Task"] and queued.trigger == "webhook"
    finally:
        first_locks.close()
        second_locks.close()
    statuses = [(job.connection_id, job.status, job.worker) for job in _jobs(db)]
    assert statuses == [
        (acme, "succeeded", "w1"),
        (acme, "running", "w1"),
        (other, "running", "w2"),
    ]


def test_jobs_due_later_wait(db: Database) -> None:
    enqueue(db, _connection(db), "schedule", run_at=utcnow() + timedelta(minutes=1))
    locks = LockSession.open(db)
    try:
        assert JobQueue(db, locks, "w1").claim() is None
    finally:
        locks.close()


def test_a_stopped_job_is_queued_again_to_resume(db: Database) -> None:
    enqueue(db, _connection(db), "webhook", ["emails"])
    locks = LockSession.open(db)
    try:
        queue = JobQueue(db, locks, "w1")
        job = queue.claim()
        assert job is not None
        queue.finish(job, "stopped")
    finally:
        locks.close()
    stopped, resume = _jobs(db)
    assert stopped.status == "stopped" and stopped.finished_at is not None
    assert (resume.status, resume.trigger, resume.streams) == ("queued", "resume", ["emails"])


def test_the_job_of_a_worker_that_died_is_taken_over(db: Database) -> None:
    acme = _connection(db)
    enqueue(db, acme, "schedule")
    dead = LockSession.open(db)
    job = JobQueue(db, dead, "dead-worker").claim()
    assert job is not None
    with db.session() as session:  # the sync it had started, now orphaned
        session.add(SyncRun(connection_id=acme, trigger="schedule", status="running"))
    dead.close()  # the session ends with the process: its locks go with it

    survivor = LockSession.open(db)
    try:
        taken = JobQueue(db, survivor, "survivor").claim()
    finally:
        survivor.close()
    assert taken is not None and taken.id == job.id
    assert taken.taken_over_from == "dead-worker" and taken.attempts == 2
    [row] = _jobs(db)
    assert (row.status, row.worker) == ("running", "survivor")
    with db.sessions() as session:
        run = session.scalars(select(SyncRun)).one()
    assert run.status == "cancelled" and "dead-worker" in (run.error or "")
