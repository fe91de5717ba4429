"""The README's "Connecting a CRM" and "Mapping rules" commands, run as written: those for
acme's real org offline, and those for the sandbox CRM against it, end to end — a Salesforce
org and a HubSpot portal in one database, each with its own active ruleset."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.crypto import generate_key
from app.core.database import Database
from app.models import Connection, OpportunityState
from tests.app.cli.conftest import MILESTONES, run
from tests.conftest import FreshDatabases
from tests.support.readme import milestones_commands, section, shell_lines
from tests.support.waiting import port_open, wait_for

ROOT = Path(__file__).resolve().parents[3]
OFFLINE = ("connections add", "connections update")  # test and sync log in to acme's org
SANDBOX = "### On the sandbox CRM\n"
SANDBOX_PORTS = (8443, 8444)


@pytest.fixture
def readme_env(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> dict[str, str]:
    env["DATABASE_URL"] = fresh_databases.url("readme")
    env["MILESTONES_SECRET_KEY"] = generate_key()
    env["MILESTONES_DATA_DIR"] = str(tmp_path / "data")  # `data` where the commands run
    env["PATH"] = f"{Path(MILESTONES).parent}{os.pathsep}{env.get('PATH', '')}"
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0  # PostgreSQL: the operator's step
    return env


def test_the_connecting_a_crm_commands_run_as_written(
    readme_env: dict[str, str], tmp_path: Path
) -> None:
    readme_env["MILESTONES_CRM_CLIENT_SECRET"] = "from-the-prompt"  # what "asks for it" gets
    acme = section("Connecting a CRM").split(SANDBOX, 1)[0]
    commands = [c for c in milestones_commands(acme) if " ".join(c[:2]) in OFFLINE]
    assert [c[:2] for c in commands] == [["connections", "add"], ["connections", "update"]]
    for command in commands:
        result = run(command, readme_env, tmp_path)
        assert result.returncode == 0, f"{shlex.join(command)}: {result.stderr}"
    listed = json.loads(run(["connections", "list", "--json"], readme_env, tmp_path).stdout)
    [acme_row] = listed["data"]
    assert acme_row["settings"]["extra_fields"] == {
        "Opportunity": ["Segment__c"],
        "Event": ["Meeting_Outcome__c"],
    }


@pytest.fixture
def sandbox_workdir(tmp_path: Path) -> Iterator[Path]:
    """Where the README's commands run: the repository's shipped examples at hand."""
    busy = [port for port in SANDBOX_PORTS if port_open(port)]
    if busy:
        pytest.fail(f"ports {busy} are taken: the README's sandbox commands need them free")
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "examples").symlink_to(ROOT / "mappings" / "examples")
    yield tmp_path


def _shell(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_the_sandbox_and_mapping_commands_run_as_written(
    readme_env: dict[str, str], sandbox_workdir: Path
) -> None:
    lines = [
        line
        for line in shell_lines(section("Connecting a CRM").split(SANDBOX, 1)[1])
        + shell_lines(section("Mapping rules"))
        if line.strip()
    ]
    background = [line for line in lines if line.split("#")[0].rstrip().endswith("&")]
    assert [shlex.split(line, comments=True)[:2] for line in background] == [
        ["milestones", "sandbox"]
    ]
    sandbox = subprocess.Popen(
        ["bash", "-c", f"exec {background[0].split('&')[0]}"],
        env=readme_env,
        cwd=sandbox_workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert wait_for(
            lambda: all(port_open(p) for p in SANDBOX_PORTS) or sandbox.poll() is not None
        )
        assert sandbox.poll() is None, sandbox.stderr.read() if sandbox.stderr else ""
        for line in lines:
            if line in background:
                continue
            result = _shell(line, readme_env, sandbox_workdir)
            assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        versions = json.loads(
            run(["mappings", "versions", "--json"], readme_env, sandbox_workdir).stdout
        )
        assert [(v["version"], v["active_on"]) for v in versions["versions"]] == [
            (1, ["acme"]),
            (2, ["portal"]),
        ]
        status = json.loads(run(["status", "--json"], readme_env, sandbox_workdir).stdout)
        assert {c["name"]: c["ruleset_version"] for c in status["connections"]} == {
            "acme": 1,
            "portal": 2,
        }
        database = Database(readme_env["DATABASE_URL"])
        with database.session() as session:
            states = session.execute(
                select(
                    Connection.name,
                    OpportunityState.ruleset_version_id,
                    func.count(),
                    func.count(OpportunityState.current_milestone_id),
                )
                .join(Connection, Connection.id == OpportunityState.connection_id)
                .group_by(Connection.name, OpportunityState.ruleset_version_id)
                .order_by(Connection.name)
            ).all()
        database.dispose()
        # every deal of each CRM, under its own connection's version, most at a milestone
        assert [(name, version) for name, version, _, _ in states] == [("acme", 1), ("portal", 2)]
        assert all(at_milestone > deals / 2 for _, _, deals, at_milestone in states)
    finally:
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(timeout=60)
