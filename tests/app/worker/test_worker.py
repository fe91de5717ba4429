"""A worker keeps connections fresh: the leader's schedule queues runs, slots claim them, a
new customer action is stored within one interval plus 10 s, and status shows it all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.crypto import SecretBox, generate_key
from app.core.database import Database
from app.core.errors import ConflictError
from app.models import RawRecord, SyncJob, SyncRun
from app.services.connections.registry import create_connection
from app.services.jobs.locks import ProcessLock
from app.services.sync.status import sync_status
from app.worker import Worker
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.app.worker.harness import new_salesforce_task
from tests.conftest import ON_POSTGRES
from tests.sandbox.crm.export_fixture import write_export
from tests.support.sandbox import salesforce_connection_args
from tests.support.waiting import wait_for

INTERVAL = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(export, SandboxConfig())) as running:
        yield running


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([generate_key().encode()])


def _runs(db: Database, status: str = "succeeded") -> int:
    with db.sessions() as session:
        return len(session.scalars(select(SyncRun.id).where(SyncRun.status == status)).all())


def _stored(db: Database, external_id: str) -> bool:
    with db.sessions() as session:
        found = session.scalar(select(RawRecord.id).where(RawRecord.external_id == external_id))
    return found is not None


def test_scheduled_runs_store_a_new_customer_action_within_an_interval_plus_10_s(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    with db.session() as session:
        create_connection(
            session,
            box,
            name="acme",
            sync_interval_seconds=INTERVAL,
            **salesforce_connection_args(server, streams=["Task", "Opportunity"]),
        )
    worker = Worker(
        db, box, concurrency=1, poll_seconds=0.2, leader_check_seconds=0.5, reconcile_seconds=1
    ).start()
    try:
        assert wait_for(lambda: _runs(db) >= 1, 60), "the first scheduled sync never finished"
        assert worker.is_leader
        task = new_salesforce_task(server)
        appeared = time.monotonic()
        assert wait_for(lambda: _stored(db, task), INTERVAL + 10, step=0.05)
        assert time.monotonic() - appeared <= INTERVAL + 10
        assert wait_for(lambda: _runs(db) >= 3, 3 * INTERVAL + 10), "the schedule stopped"
        status = sync_status(db)
    finally:
        worker.stop()
        worker.join(30)
    [acme] = status.connections
    assert status.scheduler.leader == worker.name
    assert acme.next_run_at is not None and acme.lag_seconds is not None
    assert acme.lag_seconds < INTERVAL + 10
    assert {row.stream for row in acme.streams} == {"Task", "Opportunity"}
    with db.sessions() as session:
        jobs = session.scalars(select(SyncJob)).all()
    assert jobs and all(job.trigger == "schedule" for job in jobs)
    assert all(job.status in ("succeeded", "queued") for job in jobs)


@pytest.mark.skipif(
    ON_POSTGRES,
    reason="SQLite only: PostgreSQL serves any number of workers",
)
def test_sqlite_serves_one_worker_process(db: Database, box: SecretBox, tmp_path: Path) -> None:
    first = ProcessLock(db).acquire()
    try:
        with pytest.raises(ConflictError, match="one worker process"):
            ProcessLock(db).acquire()
    finally:
        first.release()
