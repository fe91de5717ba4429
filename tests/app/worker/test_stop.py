"""SIGTERM ends a worker promptly even while its CRM keeps it waiting to retry: the wait wakes
at once, no further call is made, and the job is queued again to resume."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.core.crypto import SecretBox, generate_key
from app.core.database import Database, upgrade
from app.services.connections.registry import create_connection
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.faults import Fault
from tests.app.cli.conftest import MILESTONES
from tests.conftest import FreshDatabases
from tests.sandbox.crm.export_fixture import write_export
from tests.support.sandbox import salesforce_connection_args
from tests.support.waiting import wait_for

HANG_GUARD = 60.0
"""Seconds a test waits for what it expects, far beyond a healthy run and below the 120-second
Retry-After the CRM asks for: reaching it means the worker ignored its stop."""


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(export, SandboxConfig())) as running:
        yield running


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    clean.pop("DATABASE_URL", None)
    clean["MILESTONES_DATA_DIR"] = str(tmp_path / "data")
    clean["MILESTONES_LOG_LEVEL"] = "WARNING"
    clean["MILESTONES_SECRET_KEY"] = generate_key()
    return clean


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_sigterm_ends_a_worker_waiting_on_a_rate_limited_crm_and_leaves_the_job_to_resume(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases, server: SandboxServer
) -> None:
    url = env["DATABASE_URL"] = fresh_databases.url("stop")
    database = Database(url)
    upgrade(database.engine)
    with database.session() as session:
        create_connection(
            session,
            SecretBox([env["MILESTONES_SECRET_KEY"].encode()]),
            name="busy",
            sync_interval_seconds=3600,
            **salesforce_connection_args(server, streams=["Task"]),
        )
    database.dispose()
    limited = server.sandbox.faults.add(
        Fault("rate_limit", api="salesforce", path="/query", times=None, retry_after=120)
    )
    worker = subprocess.Popen(
        [MILESTONES, "worker", "--concurrency", "1", "--poll", "0.2", "--name", "busy-worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: limited.fired >= 1, HANG_GUARD), "the sync never reached the CRM"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=HANG_GUARD) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert limited.fired == 1  # the wait was cut short; no attempt after the stop
    jobs = _rows(url, "SELECT status, trigger FROM sync_jobs ORDER BY id")
    assert jobs == [("stopped", "schedule"), ("queued", "resume")]
    [(status, error)] = _rows(url, "SELECT status, error FROM sync_runs")
    assert status == "partial" and "stopped on request" in str(error)
