"""`milestones keys create|list|revoke` and `milestones backtest` as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.database import Database, upgrade
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases
from tests.support.kpi_world import build


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
    for bad in (["--every", "day"], ["--from", "2024-13-01"], ["--horizons", "13"]):
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
    answer = json.loads(run(["backtest", "--json", "--team", "North"], env, tmp_path).stdout)
    assert answer["filters"]["team"] == "North" and answer["cells"]
