"""The schedule, run by the leader only: APScheduler 3 with its own in-memory job store.

Each enabled connection gets an interval job that enqueues a pipeline run every
`sync_interval_seconds` (its first run is due one interval after the connection's last sync, or
at once). A reconcile job follows connections being added, removed, disabled or re-timed; a
housekeeping job forgets old webhook receipts and finished jobs. Job stores are never shared:
exactly one scheduler runs per deployment (the holder of the leader lock), and every worker
takes its work from the database queue.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, func, select

from app.core.database import Database
from app.models import Connection, SyncRun, SyncSchedule
from app.models.base import utcnow
from app.services.jobs.queue import enqueue, prune
from app.services.sync.webhooks import forget_receipts

__all__ = ["Schedule"]

log = logging.getLogger(__name__)


class Schedule:
    def __init__(self, database: Database, leader: str, reconcile_seconds: float = 10.0) -> None:
        self.database = database
        self.leader = leader
        self.reconcile_seconds = reconcile_seconds
        self.scheduler: Any = None

    @property
    def running(self) -> bool:
        return self.scheduler is not None

    def start(self) -> None:
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        scheduler.start()
        self.scheduler = scheduler
        self.reconcile()
        scheduler.add_job(
            self.reconcile, "interval", seconds=self.reconcile_seconds, id="reconcile"
        )
        scheduler.add_job(self.housekeeping, "interval", minutes=10, id="housekeeping")
        log.info("schedule started", extra={"leader": self.leader})

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            log.info("schedule stopped", extra={"leader": self.leader})

    def reconcile(self) -> None:
        """Bring the interval jobs in line with the enabled connections."""
        scheduler = self.scheduler
        if scheduler is None:
            return
        with self.database.sessions() as session:
            rows = session.execute(
                select(
                    Connection.id,
                    Connection.sync_interval_seconds,
                    select(func.max(SyncRun.started_at))
                    .where(SyncRun.connection_id == Connection.id)
                    .scalar_subquery(),
                ).where(Connection.enabled.is_(True))
            ).all()
        wanted = {int(row[0]): (int(row[1]), row[2]) for row in rows}
        for job in scheduler.get_jobs():
            if job.id.startswith("sync:") and int(job.id.split(":")[1]) not in wanted:
                job.remove()
        now = utcnow()
        for connection_id, (interval, last_sync) in wanted.items():
            job = scheduler.get_job(f"sync:{connection_id}")
            if job is not None and job.trigger.interval == timedelta(seconds=interval):
                continue
            due = now if last_sync is None else max(now, last_sync + timedelta(seconds=interval))
            scheduler.add_job(
                self.fire,
                IntervalTrigger(seconds=interval, start_date=due, timezone=UTC),
                args=[connection_id],
                id=f"sync:{connection_id}",
                replace_existing=True,
                next_run_time=due,
            )
        self._publish(wanted)

    def fire(self, connection_id: int) -> None:
        """An interval job: queue the connection's pipeline run now."""
        try:
            enqueue(self.database, connection_id, "schedule")
        except Exception:  # a vanished connection or a database hiccup: the next tick retries
            log.exception("could not enqueue a scheduled run", extra={"connection": connection_id})
        self._publish_one(connection_id)

    def housekeeping(self) -> None:
        forget_receipts(self.database)
        prune(self.database)

    # the published plan -----------------------------------------------------------------
    def _next_run(self, connection_id: int) -> datetime | None:
        job = self.scheduler.get_job(f"sync:{connection_id}") if self.scheduler else None
        moment: datetime | None = job.next_run_time if job is not None else None
        return moment.astimezone(UTC) if moment is not None else None

    def _publish(self, wanted: dict[int, tuple[int, datetime | None]]) -> None:
        with self.database.session() as session:
            session.execute(
                delete(SyncSchedule).where(SyncSchedule.connection_id.not_in(list(wanted)))
            )
            for connection_id, (interval, _last) in wanted.items():
                session.merge(
                    SyncSchedule(
                        connection_id=connection_id,
                        interval_seconds=interval,
                        next_run_at=self._next_run(connection_id),
                        leader=self.leader,
                        updated_at=utcnow(),
                    )
                )

    def _publish_one(self, connection_id: int) -> None:
        try:
            with self.database.session() as session:
                row = session.get(SyncSchedule, connection_id)
                if row is not None:
                    row.next_run_at = self._next_run(connection_id)
                    row.leader = self.leader
                    row.updated_at = utcnow()
        except Exception:
            log.exception("could not publish the schedule", extra={"connection": connection_id})
