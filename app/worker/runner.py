"""`milestones worker`: job slots that claim pipeline runs, and a bid for the leader's role.

Every worker process runs `concurrency` slots. A slot claims a due job from the queue (see
`app.services.jobs.queue`), runs the connection's pipeline under that connection's lock, records
the outcome and claims the next. Each process also bids for the leader lock; the one that holds
it runs the schedule (`app.worker.schedule`). When the leader dies, another process takes its
role within `leader_check_seconds`.

SIGTERM (or `stop()`): every slot finishes the page it is storing, checkpoints, queues its job
again for whoever comes next, and the process exits. A slot whose CRM call is waiting to be
retried (a rate limit, a 503) wakes at once: every retry waits on the worker's stop event.
SIGKILL: the database frees the dead process's locks, and another worker takes over its jobs
from their last committed page.

    worker = Worker(database, box, concurrency=2)
    worker.install_signal_handlers()
    worker.run()                                   # until SIGTERM / SIGINT
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.core.crypto import SecretBox
from app.core.database import Database
from app.services.jobs.locks import LEADER_LOCK, LockSession, ProcessLock
from app.services.jobs.pipeline import run_pipeline
from app.services.jobs.queue import ClaimedJob, JobQueue
from app.worker.schedule import Schedule
from connectors.core import RetryPolicy

__all__ = ["LEADER_LOCK", "Worker", "WorkerStats"]

log = logging.getLogger(__name__)

LOCK_CHECK_SECONDS = 2.0


@dataclass
class WorkerStats:
    jobs: int = 0
    failed: int = 0
    stopped: int = 0
    taken_over: int = 0
    last: list[dict[str, Any]] = field(default_factory=list)


class Worker:
    def __init__(
        self,
        database: Database,
        box: SecretBox,
        *,
        concurrency: int = 2,
        poll_seconds: float = 1.0,
        leader_check_seconds: float = 2.0,
        reconcile_seconds: float = 10.0,
        lead: bool = True,
        name: str | None = None,
        on_job: Callable[[ClaimedJob, dict[str, Any]], None] | None = None,
    ) -> None:
        self.database = database
        self.box = box
        self.concurrency = max(1, concurrency)
        self.poll_seconds = poll_seconds
        self.leader_check_seconds = leader_check_seconds
        self.lead = lead
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.on_job = on_job
        self.stats = WorkerStats()
        self.schedule = Schedule(database, self.name, reconcile_seconds)
        self._stop = threading.Event()
        self._signals: list[int] = []
        self.retry = RetryPolicy(stop=self._stop)
        self._stats_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._process_lock: ProcessLock | None = None

    # lifecycle ------------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self.schedule.running

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            # only record it: the main thread may hold the lock `Event.set` (or logging) takes
            self._signals.append(signum)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def start(self) -> Worker:
        """Start the slots (and the leader bid) in background threads."""
        if self.database.is_sqlite:
            self._process_lock = ProcessLock(self.database).acquire()
        if self.lead:
            self._spawn(self._lead, "leader")
        for slot in range(self.concurrency):
            self._spawn(lambda slot=slot: self._serve(slot), f"slot-{slot}")  # type: ignore[misc]
        log.info(
            "worker started",
            extra={"worker": self.name, "slots": self.concurrency, "lead": self.lead},
        )
        return self

    def run(self) -> None:
        """Start, then block until stopped; every slot finishes its page before this returns."""
        self.start()
        try:
            while not self._stop.wait(0.5):
                if self._signals:
                    log.info("stopping after the current page", extra={"signal": self._signals[0]})
                    self.stop()
        finally:
            self.join()

    def join(self, timeout: float | None = None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if self._process_lock is not None:
            self._process_lock.release()
            self._process_lock = None
        log.info("worker stopped", extra={"worker": self.name, "jobs": self.stats.jobs})

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"worker-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    # leader -----------------------------------------------------------------------------------
    def _lead(self) -> None:
        locks: LockSession | None = None
        while not self._stop.is_set():
            try:
                if locks is None:
                    locks = LockSession.open(self.database)
                if not self.schedule.running:
                    if locks.try_lock(LEADER_LOCK):
                        log.info("leading the schedule", extra={"worker": self.name})
                        self.schedule.start()
                elif not locks.alive():
                    raise SQLAlchemyError("the leader's session was lost")
            except SQLAlchemyError as error:
                log.warning("leadership lost", extra={"worker": self.name, "error": str(error)})
                self.schedule.stop()
                if locks is not None:
                    locks.close()
                locks = None
            self._stop.wait(self.leader_check_seconds)
        self.schedule.stop()
        if locks is not None:
            locks.close()

    # slots ------------------------------------------------------------------------------------
    def _serve(self, slot: int) -> None:
        locks: LockSession | None = None
        while not self._stop.is_set():
            try:
                if locks is None or not locks.alive():
                    if locks is not None:
                        locks.close()
                    locks = LockSession.open(self.database)
                queue = JobQueue(self.database, locks, f"{self.name}/{slot}")
                job = queue.claim()
            except SQLAlchemyError as error:
                log.warning("cannot claim work", extra={"worker": self.name, "error": str(error)})
                self._stop.wait(max(self.poll_seconds, 2.0))
                continue
            if job is None:
                self._stop.wait(self.poll_seconds)
                continue
            self._run(queue, locks, job)
        if locks is not None:
            locks.close()

    def _run(self, queue: JobQueue, locks: LockSession, job: ClaimedJob) -> None:
        checked = [time.monotonic(), True]

        def should_stop() -> bool:
            if self._stop.is_set():
                return True
            if time.monotonic() - float(checked[0]) >= LOCK_CHECK_SECONDS:
                checked[0], checked[1] = time.monotonic(), locks.alive()
            return not checked[1]  # the lock went with the session: someone else may resume

        log.debug(  # routine: one a connection every interval
            "job started",
            extra={
                "job": job.id,
                "connection": job.connection,
                "trigger": job.trigger,
                "streams": job.streams,
                "taken_over_from": job.taken_over_from,
            },
        )
        try:
            report = run_pipeline(
                self.database,
                self.box,
                job.connection,
                job.connection_id,
                streams=job.streams,
                trigger=job.trigger,
                should_stop=should_stop,
                retry=self.retry,
            )
            result = report.model_dump(mode="json")
            status, error, run_id = report.status, report.error, report.sync_run_id
        except Exception as failure:  # the job fails; the worker goes on
            log.exception("job failed", extra={"job": job.id, "connection": job.connection})
            result, status, error, run_id = (
                {},
                "failed",
                f"{type(failure).__name__}: {failure}",
                None,
            )
        try:
            queue.finish(job, status, result=result, sync_run_id=run_id, error=error)
        except SQLAlchemyError as failure:
            log.warning("cannot record the job", extra={"job": job.id, "error": str(failure)})
        with self._stats_lock:
            self.stats.jobs += 1
            self.stats.failed += status == "failed"
            self.stats.stopped += status == "stopped"
            self.stats.taken_over += job.taken_over_from is not None
            self.stats.last = [*self.stats.last[-9:], {"job": job.id, **result}]
        log.log(
            logging.DEBUG if status == "succeeded" else logging.INFO,  # routine unless it was not
            "job finished",
            extra={"job": job.id, "connection": job.connection, "status": status, "error": error},
        )
        if self.on_job is not None:
            self.on_job(job, result)
