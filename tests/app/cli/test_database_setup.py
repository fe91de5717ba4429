"""Where the database comes from, and what a command says when it is missing, behind or
misconfigured: every command works on a fresh embedded database, a reader never creates one."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.app.cli.conftest import MILESTONES, run
from tests.conftest import ON_POSTGRES, FreshDatabases
from tests.sandbox.crm.export_fixture import write_export

READERS = [
    ["connections", "list", "--json"],
    ["status", "--json"],
    ["mappings", "versions", "--json"],
    ["keys", "list", "--json"],
]


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_new_sqlite_file_is_migrated_on_first_use(
    env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "milestones.db").touch()  # an empty file: no tables yet
    result = run(command, env, tmp_path)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)
    assert json.loads(run(["db", "current", "--json"], env, tmp_path).stdout)["at_head"] is True


def test_the_first_command_that_stores_something_creates_the_embedded_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export")
    added = run(
        ["connections", "add", "files", "--kind", "export", "--path", str(export)], env, tmp_path
    )
    assert added.returncode == 0, added.stderr
    assert Path(env["MILESTONES_DATA_DIR"], "milestones.db").exists()
    listed = json.loads(run(["connections", "list", "--json"], env, tmp_path).stdout)
    assert [row["name"] for row in listed["data"]] == ["files"]


@pytest.mark.parametrize("configured", [True, False], ids=["data dir set", "default data dir"])
def test_a_reader_never_creates_a_database_and_says_where_it_looked(
    env: dict[str, str], tmp_path: Path, configured: bool
) -> None:
    if not configured:
        del env["MILESTONES_DATA_DIR"]
    result = run(["status"], env, tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"no database at {tmp_path / 'data' / 'milestones.db'}" in line
    assert "MILESTONES_DATA_DIR" in line and "milestones db upgrade" in line
    assert not (tmp_path / "data").exists()


def test_a_schema_behind_is_migrated_on_sqlite_and_named_on_postgresql(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    env["DATABASE_URL"] = fresh_databases.url("behind")
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    assert run(["db", "downgrade", "--", "-1"], env, tmp_path).returncode == 0
    result = run(["connections", "list", "--json"], env, tmp_path)
    if ON_POSTGRES:
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert "run `milestones db upgrade`" in line
    else:
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"count": 0, "data": []}


def test_a_bad_database_url_names_the_variable_the_user_set(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["DATABASE_URL"] = "not a url"
    result = run(["status"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: DATABASE_URL: is not a database URL")
    assert "MILESTONES_DATABASE_URL" not in result.stderr


@pytest.mark.parametrize("command", [["status"], ["sync", "x"]], ids=["reader", "writer"])
def test_a_missing_sqlite_folder_is_named_and_never_created(
    env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'nowhere' / 'milestones.db'}"
    result = run(command, env, tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert f"the folder {tmp_path / 'nowhere'} does not exist: create it" in line
    assert "no such table" not in line
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["status", "--json"], 1),  # no database yet
        (["connections", "test", "nope", "--json"], 1),  # after `db upgrade`: unknown name
        (["connections", "add", "--json"], 2),  # a usage error: NAME is missing
    ],
)
def test_under_json_an_error_is_one_json_object_on_stderr(
    env: dict[str, str], tmp_path: Path, command: list[str], code: int
) -> None:
    if command[1] == "test":
        assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    result = run(command, env, tmp_path)
    assert result.returncode == code
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    error = json.loads(line)
    assert error["exit_code"] == code and error["error"]


def test_sandbox_up_keeps_its_files_in_the_data_dir(env: dict[str, str], tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    process = subprocess.Popen(
        [MILESTONES, "sandbox", "up", "--from", str(export), "--json"],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    data_dir = Path(env["MILESTONES_DATA_DIR"])
    assert Path(info["salesforce"]["ca_file"]).is_relative_to(data_dir / "sandbox")
    assert not (workdir / "data").exists()
