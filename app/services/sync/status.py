"""How fresh is every connection: last runs, per stream, lag, next run, errors, who works.

Read by `milestones status`, `GET /api/v1/sync-status`, `GET /api/v1/sync-runs` and the
Prometheus metrics; everything comes from the database, so any API process or CLI on any
machine sees the same picture.

    status = sync_status(database)
    status.connections[0].lag_seconds
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.database import Database
from app.models import (
    Connection,
    RulesetVersion,
    StreamCursor,
    SyncJob,
    SyncRun,
    SyncRunStream,
    SyncSchedule,
)
from app.models.base import utcnow
from app.models.sync import FINISHED_OK
from app.services.jobs.locks import (
    LEADER_LOCK,
    ProcessLock,
    held_locks,
    mapping_lock_name,
    sync_lock_name,
)
from app.services.state.active import active_versions, version_numbers
from app.services.state.clock import AsOf, data_clock
from app.services.sync.public import (
    ConnectionFreshness,
    LastRun,
    QueueDepth,
    RecentError,
    RunningJob,
    SchedulerState,
    StreamFreshness,
    SyncRunPublic,
    SyncRunStreamPublic,
    SyncStatus,
)

__all__ = ["FINISHED_OK", "list_runs", "run_public", "sync_status"]


def _seconds(since: datetime | None, now: datetime) -> float | None:
    return round((now - since).total_seconds(), 1) if since is not None else None


def _stream_public(row: SyncRunStream) -> SyncRunStreamPublic:
    return SyncRunStreamPublic(
        stream=row.stream,
        read=row.records_read,
        new=row.records_new,
        changed=row.records_changed,
        deleted=row.records_deleted,
        quarantined=row.records_quarantined,
        api_calls=row.api_calls,
        bytes_received=row.bytes_received,
        duration_ms=row.duration_ms,
        error=row.error,
    )


def run_public(run: SyncRun, connection: str, streams: list[SyncRunStream]) -> SyncRunPublic:
    return SyncRunPublic(
        id=run.id,
        connection=connection,
        trigger=run.trigger,
        full=run.full,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        api_calls=run.api_calls,
        bytes_received=run.bytes_received,
        records_read=sum(row.records_read for row in streams),
        records_new=sum(row.records_new for row in streams),
        records_changed=sum(row.records_changed for row in streams),
        records_deleted=sum(row.records_deleted for row in streams),
        error=run.error,
        streams=[_stream_public(row) for row in sorted(streams, key=lambda r: r.stream)],
    )


def list_runs(
    session: Session,
    *,
    connection: str | None = None,
    status: str | None = None,
    trigger: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[SyncRunPublic]:
    """Sync runs, newest first; `before` (a run id) pages back through history."""
    query = select(SyncRun, Connection.name).join(
        Connection, Connection.id == SyncRun.connection_id
    )
    if connection is not None:
        query = query.where(Connection.name == connection)
    if status is not None:
        query = query.where(SyncRun.status == status)
    if trigger is not None:
        query = query.where(SyncRun.trigger == trigger)
    if before is not None:
        query = query.where(SyncRun.id < before)
    rows = session.execute(query.order_by(SyncRun.id.desc()).limit(limit)).all()
    ids = [run.id for run, _name in rows]
    streams: dict[int, list[SyncRunStream]] = {run_id: [] for run_id in ids}
    if ids:
        for row in session.scalars(select(SyncRunStream).where(SyncRunStream.sync_run_id.in_(ids))):
            streams[row.sync_run_id].append(row)
    return [run_public(run, name, streams[run.id]) for run, name in rows]


def _last_stream_runs(session: Session) -> dict[tuple[int, str], tuple[SyncRun, SyncRunStream]]:
    latest = (
        select(SyncRun.connection_id, SyncRunStream.stream, func.max(SyncRun.id).label("run_id"))
        .join(SyncRunStream, SyncRunStream.sync_run_id == SyncRun.id)
        .group_by(SyncRun.connection_id, SyncRunStream.stream)
        .subquery()
    )
    rows = session.execute(
        select(SyncRun, SyncRunStream)
        .join(latest, latest.c.run_id == SyncRun.id)
        .join(
            SyncRunStream,
            (SyncRunStream.sync_run_id == SyncRun.id) & (SyncRunStream.stream == latest.c.stream),
        )
    ).all()
    return {(run.connection_id, stream.stream): (run, stream) for run, stream in rows}


def _scheduler(
    database: Database, connection_ids: list[int], version_ids: list[int], leader: str | None
) -> SchedulerState:
    """Who holds which lock: the schedule's leader (its published name counts only while the
    lock is held), syncs and mapping runs in progress."""
    if database.is_sqlite:
        running = ProcessLock(database).held_elsewhere()
        return SchedulerState(
            leader=leader if running else None, leader_alive=running, syncing=None, mapping=None
        )
    syncs = [sync_lock_name(cid) for cid in connection_ids]
    mappings = [mapping_lock_name(v, c) for v in version_ids for c in connection_ids]
    held = held_locks(database, [LEADER_LOCK, *syncs, *mappings])
    alive = held[LEADER_LOCK] is not None
    return SchedulerState(
        leader=leader if alive else None,
        leader_alive=alive,
        syncing=sum(1 for name in syncs if held[name] is not None),
        mapping=sum(1 for name in mappings if held[name] is not None),
    )


def sync_status(database: Database, as_of: AsOf = "data") -> SyncStatus:
    """Per connection: last run, per-stream last runs and cursors, lag, next run, errors;
    and the data clock every KPI is computed as of (`as_of`: the KPI as-of setting)."""
    now = utcnow()
    with database.sessions() as session:
        connections = list(session.scalars(select(Connection).order_by(Connection.name)))
        schedules = {row.connection_id: row for row in session.scalars(select(SyncSchedule))}
        last_ok: dict[int, datetime] = {
            int(cid): started
            for cid, started in session.execute(
                select(SyncRun.connection_id, func.max(SyncRun.started_at))
                .where(SyncRun.status.in_(FINISHED_OK))
                .group_by(SyncRun.connection_id)
            )
        }
        last_run_ids: dict[int, int] = {
            int(cid): int(run_id)
            for cid, run_id in session.execute(
                select(SyncRun.connection_id, func.max(SyncRun.id)).group_by(SyncRun.connection_id)
            )
        }
        last_runs = {
            run.connection_id: run
            for run in session.scalars(select(SyncRun).where(SyncRun.id.in_(last_run_ids.values())))
        }
        streams = _last_stream_runs(session)
        cursors = {
            (row.connection_id, row.stream): row for row in session.scalars(select(StreamCursor))
        }
        jobs = list(
            session.scalars(select(SyncJob).where(SyncJob.status.in_(("queued", "running"))))
        )
        recent_errors = session.execute(
            select(SyncRun.connection_id, SyncRun.id, SyncRun.finished_at, SyncRun.error)
            .where(SyncRun.error.is_not(None), SyncRun.status.in_(("failed", "partial")))
            .order_by(SyncRun.id.desc())
            .limit(100)
        ).all()
        versions = list(
            session.scalars(select(RulesetVersion.id).order_by(RulesetVersion.id.desc()).limit(50))
        )
        active = active_versions(session)
        numbers = version_numbers(session, active.values())
        clock = data_clock(session, as_of)
    leader = next((row.leader for row in schedules.values() if row.leader), None)
    scheduler = _scheduler(database, [c.id for c in connections], versions, leader)
    out: list[ConnectionFreshness] = []
    for connection in connections:
        mine = [job for job in jobs if job.connection_id == connection.id]
        running = next((job for job in mine if job.status == "running"), None)
        queued = next((job for job in mine if job.status == "queued"), None)
        schedule = schedules.get(connection.id)
        next_run = queued.run_at if queued is not None else None
        if schedule is not None and schedule.next_run_at is not None:
            next_run = min(next_run, schedule.next_run_at) if next_run else schedule.next_run_at
        last = last_runs.get(connection.id)
        stream_rows = []
        for (cid, stream), (run, row) in sorted(streams.items()):
            if cid != connection.id:
                continue
            cursor = cursors.get((cid, stream))
            stream_rows.append(
                StreamFreshness(
                    stream=stream,
                    last_run_id=run.id,
                    status="failed" if row.error else run.status,
                    started_at=run.started_at,
                    read=row.records_read,
                    new=row.records_new,
                    changed=row.records_changed,
                    deleted=row.records_deleted,
                    error=row.error,
                    cursor=cursor.last_value if cursor is not None else None,
                )
            )
        out.append(
            ConnectionFreshness(
                name=connection.name,
                kind=connection.kind,
                enabled=connection.enabled,
                interval_seconds=connection.sync_interval_seconds,
                ruleset_version=numbers.get(active.get(connection.id, 0)),
                last_run=None
                if last is None
                else LastRun(
                    id=last.id,
                    status=last.status,
                    trigger=last.trigger,
                    started_at=last.started_at,
                    finished_at=last.finished_at,
                    error=last.error,
                ),
                lag_seconds=_seconds(last_ok.get(connection.id), now),
                next_run_at=next_run,
                running=None
                if running is None
                else RunningJob(
                    job=running.id,
                    worker=running.worker,
                    trigger=running.trigger,
                    started_at=running.started_at,
                    attempts=running.attempts,
                ),
                errors=[
                    RecentError(run_id=run_id, at=at, error=error)
                    for cid, run_id, at, error in recent_errors
                    if cid == connection.id
                ][:5],
                streams=stream_rows,
            )
        )
    return SyncStatus(
        now=now,
        data_clock=clock,
        scheduler=scheduler,
        queue=QueueDepth(
            queued=sum(1 for job in jobs if job.status == "queued"),
            running=sum(1 for job in jobs if job.status == "running"),
        ),
        connections=out,
    )
