"""`milestones connections` and `milestones sync` as an admin runs them, against the sandbox org."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.crypto import generate_key
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases
from tests.sandbox.crm.export_fixture import TASK_COUNT, write_export


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(export, SandboxConfig())) as running:
        yield running


@pytest.fixture
def admin_env(
    env: dict[str, str], fresh_databases: FreshDatabases, server: SandboxServer
) -> dict[str, str]:
    env["DATABASE_URL"] = fresh_databases.url("cli_sync")
    env["MILESTONES_SECRET_KEY"] = generate_key()
    env["MILESTONES_CRM_CLIENT_SECRET"] = server.connection_info()["salesforce"]["client_secret"]
    return env


def _add(env: dict[str, str], cwd: Path, server: SandboxServer, name: str = "acme") -> None:
    info = server.connection_info()["salesforce"]
    run(["db", "upgrade"], env, cwd)
    added = run(
        [
            "connections", "add", name, "--kind", "salesforce",
            "--token-url", info["token_url"], "--client-id", info["client_id"],
            "--ca-file", info["ca_file"], "--json",
        ],
        env,
        cwd,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def test_add_test_sync_list_and_remove(
    admin_env: dict[str, str], tmp_path: Path, server: SandboxServer
) -> None:
    _add(admin_env, tmp_path, server)

    checked = run(["connections", "test", "acme", "--json"], admin_env, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] is True and len(report["streams"]) == 11

    synced = run(["sync", "acme", "--json"], admin_env, tmp_path)
    assert synced.returncode == 0, synced.stderr
    [sync_run] = json.loads(synced.stdout)["runs"]
    assert sync_run["status"] == "succeeded"
    tasks = next(row for row in sync_run["streams"] if row["stream"] == "Task")
    assert tasks["read"] == TASK_COUNT

    human = run(["sync", "acme"], admin_env, tmp_path)
    assert "acme: succeeded" in human.stdout

    listed = json.loads(run(["connections", "list", "--json"], admin_env, tmp_path).stdout)
    assert [row["name"] for row in listed["data"]] == ["acme"]
    secret = admin_env["MILESTONES_CRM_CLIENT_SECRET"]
    assert secret not in synced.stdout + synced.stderr + checked.stdout + checked.stderr

    assert run(["connections", "remove", "acme", "--yes"], admin_env, tmp_path).returncode == 0
    assert json.loads(run(["connections", "list", "--json"], admin_env, tmp_path).stdout) == {
        "count": 0,
        "data": [],
    }


def test_wrong_credentials_say_so_in_one_line(
    admin_env: dict[str, str], tmp_path: Path, server: SandboxServer
) -> None:
    admin_env["MILESTONES_CRM_CLIENT_SECRET"] = "wrong"
    _add(admin_env, tmp_path, server)
    checked = run(["connections", "test", "acme"], admin_env, tmp_path)
    assert checked.returncode == 1
    assert "cannot log in: Salesforce refused the client_credentials login" in checked.stderr
    assert "Traceback" not in checked.stderr


def test_unknown_connections_and_bad_settings_are_clear_errors(
    admin_env: dict[str, str], tmp_path: Path
) -> None:
    run(["db", "upgrade"], admin_env, tmp_path)
    missing = run(["sync", "nope"], admin_env, tmp_path)
    assert missing.returncode == 1
    assert "no connection named 'nope'" in missing.stderr
    bad = run(
        ["connections", "add", "x", "--token-url", "http://insecure", "--client-id", "c"],
        admin_env,
        tmp_path,
    )
    assert bad.returncode == 1
    assert "token_url" in bad.stderr and "Traceback" not in bad.stderr


def test_a_manual_sync_waits_its_turn_while_a_worker_holds_the_connection(
    admin_env: dict[str, str], tmp_path: Path, server: SandboxServer
) -> None:
    from sqlalchemy import select

    from app.core.database import Database
    from app.models import Connection
    from app.services.jobs.locks import LockSession, ProcessLock, sync_lock_name

    _add(admin_env, tmp_path, server)
    database = Database(admin_env["DATABASE_URL"])
    if database.is_sqlite:
        held: Any = ProcessLock(database).acquire()
        expected = "a worker serves this database"
    else:
        with database.sessions() as session:
            connection_id = session.scalars(select(Connection.id)).one()
        held = LockSession.open(database)
        assert held.try_lock(sync_lock_name(connection_id))
        expected = "is being synced by a worker right now"
    try:
        refused = run(["sync", "acme"], admin_env, tmp_path)
    finally:
        held.release() if database.is_sqlite else held.close()
        database.dispose()
    assert refused.returncode == 1
    assert expected in refused.stderr
    assert run(["sync", "acme", "--json"], admin_env, tmp_path).returncode == 0


def test_a_hubspot_oauth_app_is_added_checked_and_synced_with_one_token_refresh(
    admin_env: dict[str, str], tmp_path: Path, server: SandboxServer
) -> None:
    info = server.connection_info()["hubspot"]
    admin_env["MILESTONES_CRM_CLIENT_SECRET"] = info["client_secret"]
    admin_env["MILESTONES_CRM_REFRESH_TOKEN"] = info["refresh_token"]
    run(["db", "upgrade"], admin_env, tmp_path)
    added = run(
        [
            "connections", "add", "portal", "--kind", "hubspot",
            "--base-url", info["base_url"], "--client-id", info["client_id"],
        ],
        admin_env,
        tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    before = server.sandbox.calls["hubspot.oauth_token"]
    checked = run(["connections", "test", "portal", "--json"], admin_env, tmp_path)
    assert json.loads(checked.stdout)["authenticated"] is True, checked.stdout
    synced = run(["sync", "portal", "--stream", "owners", "--json"], admin_env, tmp_path)
    assert json.loads(synced.stdout)["runs"][0]["status"] == "succeeded", synced.stdout
    assert server.sandbox.calls["hubspot.oauth_token"] == before + 1  # the sync reused it
    output = checked.stdout + checked.stderr + synced.stdout + synced.stderr
    assert info["refresh_token"] not in output and info["client_secret"] not in output
