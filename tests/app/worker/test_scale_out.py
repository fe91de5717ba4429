"""Workers as real processes: three share one PostgreSQL; one killed with SIGKILL mid-sync has
its work taken over from the last committed page (nothing lost, nothing doubled, never two
workers on one connection); SIGTERM finishes the current page, queues the rest and exits."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
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
from tests.app.worker.harness import count_rows
from tests.conftest import ON_POSTGRES, FreshDatabases
from tests.sandbox.crm.export_fixture import TASK_COUNT, write_export
from tests.support.sandbox import salesforce_connection_args
from tests.support.waiting import wait_for

CONNECTIONS = ("north", "south", "east", "west")


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(export, SandboxConfig())) as running:
        running.sandbox.faults.add(
            Fault("slow", api="salesforce", path="/query", delay=0.25, times=None)
        )
        yield running


def _prepare(url: str, key: str, server: SandboxServer, names: tuple[str, ...]) -> None:
    database = Database(url)
    upgrade(database.engine)
    box = SecretBox([key.encode()])
    with database.session() as session:
        for name in names:
            create_connection(
                session,
                box,
                name=name,
                sync_interval_seconds=3600,
                **salesforce_connection_args(server, streams=["Task"], page_size=200),
            )
    database.dispose()


def _start_worker(env: dict[str, str], cwd: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [MILESTONES, "worker", "--concurrency", "1", "--poll", "0.2", "--name", name],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def _tasks(url: str, connection: str) -> int:
    return count_rows(
        url,
        "SELECT count(*) FROM raw_records r JOIN connections c ON c.id = r.connection_id "
        "WHERE c.name = :name AND r.stream = 'Task'",
        name=connection,
    )


class _OverlapWatch(threading.Thread):
    """Polls the database: a connection must never have two sync runs running at once."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.overlaps: list[tuple[object, ...]] = []
        self.samples = 0

    def run(self) -> None:
        engine = create_engine(self.url)
        with engine.connect() as connection:
            while not self.stop.is_set():
                rows = connection.execute(
                    text(
                        "SELECT connection_id, count(*) FROM sync_runs WHERE status = 'running' "
                        "GROUP BY connection_id HAVING count(*) > 1"
                    )
                ).all()
                connection.rollback()
                self.overlaps.extend(tuple(row) for row in rows)
                self.samples += 1
                time.sleep(0.05)
        engine.dispose()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    clean.pop("DATABASE_URL", None)
    clean["MILESTONES_DATA_DIR"] = str(tmp_path / "data")
    clean["MILESTONES_LOG_LEVEL"] = "WARNING"
    clean["MILESTONES_SECRET_KEY"] = generate_key()
    return clean


@pytest.mark.skipif(not ON_POSTGRES, reason="several worker processes need PostgreSQL")
def test_three_workers_one_killed_mid_sync_lose_and_double_nothing(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases, server: SandboxServer
) -> None:
    url = env["DATABASE_URL"] = fresh_databases.url("scale")
    _prepare(url, env["MILESTONES_SECRET_KEY"], server, CONNECTIONS)
    watch = _OverlapWatch(url)
    watch.start()
    workers = {name: _start_worker(env, tmp_path, name) for name in ("w1", "w2", "w3")}
    try:
        # Wait for a worker in the middle of a connection's sync, then kill it outright.
        victim: tuple[str, str] | None = None

        def mid_sync() -> bool:
            nonlocal victim
            for connection, worker in _rows(
                url,
                "SELECT c.name, j.worker FROM sync_jobs j JOIN connections c "
                "ON c.id = j.connection_id WHERE j.status = 'running'",
            ):
                if 400 <= _tasks(url, str(connection)) < TASK_COUNT - 600:
                    victim = (str(connection), str(worker).split("/")[0])
                    return True
            return False

        assert wait_for(mid_sync, 60, step=0.05), "no worker was ever seen mid-sync"
        assert victim is not None
        connection, worker_name = victim
        workers[worker_name].send_signal(signal.SIGKILL)
        workers[worker_name].wait(timeout=10)
        killed_at = time.monotonic()
        stored_at_kill = _tasks(url, connection)
        assert stored_at_kill < TASK_COUNT

        def all_synced() -> bool:
            return all(_tasks(url, name) == TASK_COUNT for name in CONNECTIONS) and not _rows(
                url, "SELECT id FROM sync_jobs WHERE status IN ('queued', 'running')"
            )

        assert wait_for(all_synced, 120, step=0.2), "the work was not finished by the others"
        taken_over = time.monotonic() - killed_at
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers.values():
            process.wait(timeout=30)
        watch.stop.set()
        watch.join(5)

    assert taken_over < 120
    assert watch.samples > 20 and watch.overlaps == [], "two workers synced one connection"
    # The killed worker's job was resumed by another worker, from where it stopped.
    [(attempts, worker, error)] = _rows(
        url,
        "SELECT j.attempts, j.worker, j.error FROM sync_jobs j JOIN connections c "
        f"ON c.id = j.connection_id WHERE c.name = '{connection}'",
    )
    assert attempts == 2 and not str(worker).startswith(worker_name)
    assert f"taken over from worker {worker_name}/" in str(error)
    runs = _rows(
        url,
        "SELECT r.status, r.started_at, r.finished_at FROM sync_runs r JOIN connections c "
        f"ON c.id = r.connection_id WHERE c.name = '{connection}' ORDER BY r.id",
    )
    assert [row[0] for row in runs] == ["cancelled", "succeeded"]
    resumed = _rows(
        url,
        "SELECT s.records_read FROM sync_run_streams s JOIN sync_runs r ON r.id = s.sync_run_id "
        f"JOIN connections c ON c.id = r.connection_id WHERE c.name = '{connection}' "
        "AND r.status = 'succeeded'",
    )
    assert 0 < int(str(resumed[0][0])) <= TASK_COUNT - stored_at_kill + 200  # from its checkpoint
    # Nothing lost, nothing doubled: every connection holds each of the org's Tasks once.
    org_tasks = set(server.sandbox.salesforce.tables["Task"])
    for name in CONNECTIONS:
        ids = _rows(
            url,
            "SELECT r.external_id FROM raw_records r JOIN connections c "
            f"ON c.id = r.connection_id WHERE c.name = '{name}' AND r.stream = 'Task'",
        )
        assert len(ids) == TASK_COUNT and {row[0] for row in ids} == org_tasks
    # Per connection, runs never overlapped in time either.
    for name in CONNECTIONS:
        spans = _rows(
            url,
            "SELECT r.started_at, r.finished_at FROM sync_runs r JOIN connections c "
            f"ON c.id = r.connection_id WHERE c.name = '{name}' ORDER BY r.started_at",
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and end <= start  # type: ignore[operator]


def test_sigterm_finishes_the_page_queues_the_rest_and_exits(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases, server: SandboxServer
) -> None:
    url = env["DATABASE_URL"] = fresh_databases.url("sigterm")
    _prepare(url, env["MILESTONES_SECRET_KEY"], server, ("solo",))
    worker = _start_worker(env, tmp_path, "solo-worker")
    try:
        assert wait_for(lambda: _tasks(url, "solo") >= 400, 60, step=0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    stopped_at = _tasks(url, "solo")
    assert stopped_at < TASK_COUNT
    jobs = _rows(url, "SELECT status, trigger FROM sync_jobs ORDER BY id")
    assert jobs == [("stopped", "schedule"), ("queued", "resume")]
    [(status, error)] = _rows(url, "SELECT status, error FROM sync_runs")
    assert status == "partial" and "stopped on request" in str(error)
    time.sleep(0.5)
    assert _tasks(url, "solo") == stopped_at  # nothing written after the exit

    server.sandbox.faults.clear()
    again = _start_worker(env, tmp_path, "next-worker")
    try:
        assert wait_for(lambda: _tasks(url, "solo") == TASK_COUNT, 60)
        assert wait_for(
            lambda: (
                _rows(url, "SELECT status FROM sync_jobs WHERE trigger = 'resume'")
                == [("succeeded",)]
            ),
            30,
        )
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
