"""`milestones targets set|list|remove|plan` as real processes, and the README's "Targets"
commands run as written, on a small sales history (tests/support/kpi_world.py) whose process
and team carry the demo business's names."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from sqlalchemy import update

from app.core.database import Database
from app.models import CrmOwner, Process
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases
from tests.support.kpi_world import build
from tests.support.readme import milestones_commands, section


@pytest.fixture
def world_env(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> dict[str, str]:
    env["DATABASE_URL"] = fresh_databases.url("targets")
    assert run(["db", "upgrade"], env, tmp_path).returncode == 0
    database = Database(env["DATABASE_URL"])
    build(database)
    with database.session() as session:
        session.execute(update(Process).values(key="smb_new_business"))
        session.execute(update(CrmOwner).where(CrmOwner.team == "North").values(team="SMB North"))
    database.dispose()
    return env


def test_the_readme_targets_commands_run_as_written(
    world_env: dict[str, str], tmp_path: Path
) -> None:
    commands = milestones_commands(section("Targets"))
    assert [c[:2] for c in commands] == [["targets", "set"]] * 2 + [
        ["targets", "list"],
        ["targets", "plan"],
        ["targets", "plan"],
        ["targets", "remove"],
    ]
    outputs = []
    for command in commands:
        result = run(command, world_env, tmp_path)
        assert result.returncode == 0, f"{shlex.join(command)}: {result.stderr}"
        outputs.append(result.stdout)
    assert "target 1 set: smb_new_business 2025-Q3 150,000" in outputs[0]
    assert "SMB North" in outputs[2]
    plan = json.loads(outputs[4])
    assert plan["target"]["id"] == 1 and plan["status"] in ("reached", "missed")
    assert [b["team"] for b in plan["breakdown"]] == ["SMB North"]
    assert plan["summary"].split(":")[0] in outputs[3]
    assert "target 2 removed" in outputs[5]


def test_set_list_plan_and_remove_with_json(world_env: dict[str, str], tmp_path: Path) -> None:
    def targets(*args: str) -> dict[str, object]:
        result = run(["targets", *args, "--json"], world_env, tmp_path)
        assert result.returncode == 0, result.stderr
        loaded: dict[str, object] = json.loads(result.stdout)
        return loaded

    made = targets("set", "--process", "smb_new_business", "--period", "2026-03", "--deals", "4")
    assert (made["metric"], made["value"], made["period_kind"]) == ("deals", 4, "month")
    rep = targets(
        "set", "--process", "smb_new_business", "--period", "2026-03", "--deals", "2", "--rep",
        "005A",
    )  # fmt: skip
    assert rep["owner"] == "005A"
    assert targets("list", "--rep", "005A")["count"] == 1
    assert targets("list", "--period", "2026-03")["count"] == 2
    plan = targets("plan", str(made["id"]))
    assert plan["target"] == made and [b["owner"] for b in plan["breakdown"]] == ["005A"]
    assert targets("remove", str(rep["id"]))["id"] == rep["id"]
    assert targets("list")["count"] == 1


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["set", "--process", "nope", "--period", "2026-03", "--deals", "3"], "process"),
        (["set", "--process", "smb_new_business", "--period", "2026", "--deals", "3"], "period"),
        (["set", "--process", "smb_new_business", "--period", "2026-03"], "amount or deals"),
        (["plan", "999"], "no target with id 999"),
        (["remove", "999"], "no target with id 999"),
    ],
)
def test_errors_are_one_json_line(
    world_env: dict[str, str], tmp_path: Path, args: list[str], word: str
) -> None:
    result = run(["targets", *args, "--json"], world_env, tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    error = json.loads(result.stderr)
    assert word in error["error"] and error["exit_code"] == 1
