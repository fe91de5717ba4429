"""A sync killed with SIGKILL at any point resumes, and the raw layer ends up exactly as a
clean full sync leaves it: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.core.crypto import generate_key
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.faults import Fault
from tests.app.cli.conftest import MILESTONES, run
from tests.conftest import FreshDatabases
from tests.sandbox.crm.export_fixture import TASK_COUNT, write_export


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(export, SandboxConfig())) as running:
        yield running


def _prepare(env: dict[str, str], cwd: Path, server: SandboxServer) -> None:
    info = server.connection_info()["salesforce"]
    assert run(["db", "upgrade"], env, cwd).returncode == 0
    added = run(
        [
            "connections", "add", "acme", "--token-url", info["token_url"],
            "--client-id", info["client_id"], "--ca-file", info["ca_file"], "--page-size", "200",
        ],
        env,
        cwd,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def _raw_layer(url: str) -> set[tuple[str, str, str, bool]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT stream, external_id, payload_hash, deleted FROM raw_records")
        )
        layer = {(r[0], r[1], r[2], bool(r[3])) for r in rows}
    engine.dispose()
    return layer


def _count_tasks(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM raw_records WHERE stream = 'Task'")
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_sigkill_mid_sync_then_resume_equals_a_clean_full_sync(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases, server: SandboxServer
) -> None:
    env["MILESTONES_SECRET_KEY"] = generate_key()
    env["MILESTONES_CRM_CLIENT_SECRET"] = server.connection_info()["salesforce"]["client_secret"]
    killed_env = {**env, "DATABASE_URL": fresh_databases.url("killed")}
    clean_env = {**env, "DATABASE_URL": fresh_databases.url("clean")}
    _prepare(killed_env, tmp_path, server)
    _prepare(clean_env, tmp_path, server)

    slow = Fault("slow", api="salesforce", path="/query", delay=0.15, times=None)
    server.sandbox.faults.add(slow)
    process = subprocess.Popen(
        [MILESTONES, "sync", "acme", "--stream", "Task", "--json"],
        env=killed_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _count_tasks(killed_env["DATABASE_URL"]) < 600 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    partial = _count_tasks(killed_env["DATABASE_URL"])
    assert 600 <= partial < TASK_COUNT, "the sync must be killed mid-stream"
    server.sandbox.faults.clear()

    resumed = run(["sync", "acme"], killed_env, tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    clean = run(["sync", "acme", "--full"], clean_env, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    killed_layer = _raw_layer(killed_env["DATABASE_URL"])
    assert killed_layer == _raw_layer(clean_env["DATABASE_URL"])
    assert sum(1 for row in killed_layer if row[0] == "Task") == TASK_COUNT
