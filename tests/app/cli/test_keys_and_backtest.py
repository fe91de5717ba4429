"""`milestones keys create|list|revoke` and `milestones backtest` as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.cli.conftest import run


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
    assert json.loads(result.stdout)["horizons"] == []
