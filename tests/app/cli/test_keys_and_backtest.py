"""`milestones keys create|list|revoke` and `milestones backtest` as real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from subprocess import DEVNULL

import pytest
from sqlalchemy import update

from app.core.database import Database, upgrade
from app.models import CrmOwner, Process
from tests.app.cli.conftest import MILESTONES, run
from tests.conftest import FreshDatabases
from tests.support.kpi_world import build
from tests.support.readme import section, shell_lines
from tests.support.waiting import port_open, wait_for


def test_keys_lifecycle(env: dict[str, str], tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    created = run(
        ["keys", "create", "--name", "ann", "--role", "rep", "--owner", "005A", "--json"],
        env,
        tmp_path,
    )
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["key"].startswith("msk_") and key["role"] == "rep"
    listed = run(["keys", "list", "--json"], env, tmp_path)
    assert key["key"] not in listed.stdout
    assert json.loads(listed.stdout)["keys"][0]["prefix"] == key["prefix"]
    revoked = run(["keys", "revoke", key["prefix"], "--json"], env, tmp_path)
    assert json.loads(revoked.stdout)["revoked_at"]
    bad = run(["keys", "create", "--name", "x", "--role", "boss"], env, tmp_path)
    assert bad.returncode != 0 and "role must be one of" in bad.stderr


def test_backtest_on_an_empty_history(env: dict[str, str], tmp_path: Path) -> None:
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    result = run(["backtest", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["cells"] == [] and answer["note"] == "no opportunity history yet"
    as_csv = run(["backtest", "--csv", "--from", "2024-01-01", "--every", "week"], env, tmp_path)
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.startswith("horizon_months,cumulative,part,method,origins,actual_won")
    text = run(["backtest"], env, tmp_path)
    assert text.returncode == 0 and "no opportunity history yet" in text.stdout
    for bad in (
        ["--every", "day"],
        ["--from", "2024-13-01"],
        ["--horizons", "13"],
        ["--half-life", "0"],
        ["--half-life", "soon"],
    ):
        refused = run(["backtest", *bad], env, tmp_path)
        assert refused.returncode == 2, bad
        assert "Traceback" not in refused.stderr


def test_backtest_tables_say_lower_wape_is_better(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    env["DATABASE_URL"] = fresh_databases.url("cli_backtest")
    env["COLUMNS"] = "200"  # one line per row
    database = Database(env["DATABASE_URL"])
    upgrade(database.engine)
    build(database, deals=600)  # a year: the last half has enough history before it
    database.dispose()
    shown = run(["backtest", "--months", "4", "--horizons", "2", "--part", "all"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "WAPE: lower is better" in out and "milestone-free" in out
    for part in ("deals open at the origin", "deals created later", "total"):
        assert f"backtest, {part}:" in out
    assert "months 1-2" in out and "weighted pipeline" in out
    assert "recency half-life of smb: 365 days (the default)" in out
    answer = json.loads(run(["backtest", "--json", "--team", "North"], env, tmp_path).stdout)
    assert answer["filters"]["team"] == "North" and answer["cells"]
    (used,) = answer["half_lives"]
    assert (used["process"], used["half_life_days"], used["why"]) == ("smb", 365.0, "default")
    given = run(["backtest", "--json", "--months", "2", "--half-life", "none"], env, tmp_path)
    (used,) = json.loads(given.stdout)["half_lives"]
    assert (used["half_life_days"], used["why"]) == (None, "option")


def test_the_readme_backtest_commands_run_as_written(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    """Every line of the README's Backtest block, the `curl` one against `milestones serve`
    on the address the README names, with a manager key in `$KEY`."""
    env["DATABASE_URL"] = fresh_databases.url("readme_backtest")
    database = Database(env["DATABASE_URL"])
    upgrade(database.engine)
    build(database, deals=600)
    with database.session() as session:
        session.execute(update(Process).values(key="smb_new_business"))
        session.execute(update(CrmOwner).where(CrmOwner.team == "North").values(team="SMB DACH"))
    database.dispose()
    created = run(["keys", "create", "--name", "m", "--role", "manager", "--json"], env, tmp_path)
    env["KEY"] = json.loads(created.stdout)["key"]
    env["PATH"] = f"{Path(MILESTONES).parent}{os.pathsep}{env.get('PATH', '')}"
    lines = shell_lines(section("Backtest"))
    assert [line.split()[0] for line in lines] == ["milestones"] * 4 + ["curl"]
    if port_open(8000):
        pytest.fail("port 8000, where the README's curl line asks, is taken")
    server = subprocess.Popen(
        [MILESTONES, "serve"], env=env, cwd=tmp_path, stdout=DEVNULL, stderr=DEVNULL
    )
    try:
        assert wait_for(lambda: port_open(8000) or server.poll() is not None)
        for line in lines:
            result = subprocess.run(
                ["bash", "-c", line],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
            if line.startswith("curl"):  # the CSV, not a problem answer
                assert result.stdout.startswith("horizon_months,cumulative,part,method")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert (tmp_path / "backtest.csv").read_text().startswith("horizon_months,cumulative,part")
