"""The `milestones` command as a user runs it: a real process, real databases."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.app.cli.conftest import MILESTONES, run
from tests.conftest import FreshDatabases
from tests.support.waiting import wait_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_db_upgrade_then_current_reports_head(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    env["DATABASE_URL"] = fresh_databases.url("cli")
    upgraded = run(["db", "upgrade", "--json"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout)["from"] is None
    current = run(["db", "current", "--json"], env, tmp_path)
    assert json.loads(current.stdout)["at_head"] is True
    downgraded = run(["db", "downgrade", "base"], env, tmp_path)
    assert downgraded.returncode == 0 and "-> empty" in downgraded.stdout


@pytest.mark.parametrize(
    ("command", "variables", "expected"),
    [
        (["db", "current"], {"DATABASE_URL": "not a url"}, "DATABASE_URL: is not a database URL"),
        (
            ["db", "current"],
            {"MILESTONES_ENVIRONMENT": "production", "DATABASE_URL": "sqlite:///x.db"},
            "MILESTONES_SECRET_KEY is required in production",
        ),
        (["serve"], {"MILESTONES_SECRET_KEY": "short"}, "MILESTONES_SECRET_KEY is not a valid key"),
    ],
)
def test_bad_configuration_is_one_clear_line_and_exit_2(
    env: dict[str, str],
    tmp_path: Path,
    command: list[str],
    variables: dict[str, str],
    expected: str,
) -> None:
    env.update(variables)
    result = run(command, env, tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_clear_line(env: dict[str, str], tmp_path: Path) -> None:
    env["DATABASE_URL"] = "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none"
    result = run(["db", "upgrade"], env, tmp_path)
    assert result.returncode == 1
    assert "cannot reach the database at postgresql+psycopg://nobody:***@127.0.0.1:1/none" in (
        result.stderr
    )
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_migrates_an_embedded_database_and_becomes_ready(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [MILESTONES, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def ready() -> bool:  # up, then ready once migrated and loaded
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            except httpx.TransportError:
                return False
            return answer.status_code == 200 and answer.json()["status"] == "ready"

        assert wait_for(ready), "serve never became ready"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert (tmp_path / "data" / "milestones.db").exists()


def test_demo_check_runs_end_to_end(env: dict[str, str], tmp_path: Path) -> None:
    result = run(["demo", "--check", "--json", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    steps = {step["step"]: step for step in report["steps"]}
    assert list(steps) == [
        "sales history ready",
        "sandbox CRM up",
        "database migrated",
        "Salesforce org synced into the raw layer",
        "HubSpot portal synced into the raw layer",
        "milestone rules activated, one ruleset per connection",
        "API ready",
        "KPIs served to managers",
        "process health read",
        "targets set, with the movement they require",
        "KPI fields written back into both CRMs",
        "worker running",
        "web app ready",
    ]
    assert report["web"].endswith("/") and set(report["keys"]) == {"admin", "ops", "manager", "rep"}
    assert all(key.startswith("msk_") for key in report["keys"].values())
    rules = steps["milestone rules activated, one ruleset per connection"]
    assert [(rules[c]["version"], c) for c in ("sandbox-salesforce", "sandbox-hubspot")] == [
        (1, "sandbox-salesforce"),
        (2, "sandbox-hubspot"),
    ]
    for connection in ("sandbox-salesforce", "sandbox-hubspot"):
        assert rules[connection]["events"] > 100 and rules[connection]["opportunities"] > 100
    served = steps["KPIs served to managers"]
    assert {"enterprise_new_business", "smb_new_business"} <= set(served)
    assert set(served["by_connection"]) == {"sandbox-salesforce", "sandbox-hubspot"}
    health = steps["process health read"]
    assert health["milestones_valued"] > 6 and " of " in health["drift_flagged"]
    targets = steps["targets set, with the movement they require"]
    assert {"enterprise_new_business", "smb_new_business"} <= set(targets)
    assert targets["period"].startswith("2025-Q")  # the quarter the sandbox history is in
    for process in ("enterprise_new_business", "smb_new_business"):
        plan = targets[process]
        assert plan["target"] >= 10_000 and plan["status"] in (
            "on_track", "behind", "reached", "unreachable"
        )  # fmt: skip
    written = steps["KPI fields written back into both CRMs"]
    salesforce, hubspot = written["sandbox-salesforce"], written["sandbox-hubspot"]
    assert salesforce["status"] == hubspot["status"] == "succeeded"
    assert salesforce["written"] > 200 and hubspot["written"] > 200
    assert salesforce["bulk_jobs"] == 1  # every opportunity in one Bulk API 2.0 ingest job
    for name in ("Salesforce org", "HubSpot portal"):
        synced = steps[f"{name} synced into the raw layer"]
        assert synced["status"] == "succeeded" and synced["records"] > 1000
    worker = steps["worker running"]
    assert worker["status"] == "succeeded" and worker["leader"] is True

    # run again on the same data: a new sandbox CRM, whose fields get written all the same
    again = run(["demo", "--check", "--json", "--port", str(free_port())], env, tmp_path)
    assert again.returncode == 0, again.stderr
    steps = {s["step"]: s for s in json.loads(again.stdout.strip().splitlines()[-1])["steps"]}
    assert steps["milestone rules activated, one ruleset per connection"] == rules
    assert steps["KPI fields written back into both CRMs"] == written


def test_the_demo_stops_on_sigterm_saying_so(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [MILESTONES, "demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def running() -> bool:  # the worker runs once the API answers with keys given out
            try:
                return httpx.get(f"http://127.0.0.1:{port}/live", timeout=5).status_code < 500
            except httpx.TransportError:
                return process.poll() is not None

        assert wait_for(running, timeout=300) and process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "Demo stopped (SIGTERM)" in " ".join(out.split())
    # the web address and one key per role, each on a line of its own (copied as printed)
    assert f"Web app: http://127.0.0.1:{port}/" in out
    for role in ("admin", "ops", "manager", "rep"):
        assert re.search(rf"^ +{role} +msk_[A-Za-z0-9_-]{{20,}}$", out, re.MULTILINE), role


def test_secret_key_prints_a_usable_key(env: dict[str, str], tmp_path: Path) -> None:
    result = run(["secret-key", "--json"], env, tmp_path)
    key = json.loads(result.stdout)["secret_key"]
    env["MILESTONES_SECRET_KEY"] = key
    env["MILESTONES_ENVIRONMENT"] = "production"
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'prod.db'}"
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0


def test_status_tells_the_data_clock_every_kpi_is_computed_as_of(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    env = {**env, "MILESTONES_KPI_AS_OF": "2025-07-01T09:00:00Z"}
    report = json.loads(run(["status", "--json"], env, tmp_path).stdout)
    assert report["data_clock"] == "2025-07-01T09:00:00Z"
    assert report["scheduler"]["mapping"] is None  # SQLite: one writer, no lock to count
    text = run(["status"], env, tmp_path)
    assert text.returncode == 0 and "data clock (KPIs as of): 2025-07-01 09:00:00" in text.stdout
