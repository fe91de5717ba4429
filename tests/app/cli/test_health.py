"""`milestones health` as a real process: the same drift answer as the API, or a table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.database import Database, upgrade
from bench.mapping_accuracy import EXAMPLES
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases
from tests.support.kpi_world import build
from tests.support.readme import milestones_commands, section


def test_health_prints_the_drift_answer(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    env["DATABASE_URL"] = fresh_databases.url("cli_health")
    env["COLUMNS"] = "200"
    database = Database(env["DATABASE_URL"])
    upgrade(database.engine)
    build(database, deals=120)
    database.dispose()

    done = run(["health", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["false_discovery_rate"] == 0.05 and answer["steps"]
    assert answer["flagged"] == sum(step["flagged"] for step in answer["steps"])
    assert {step["metric"] for step in answer["steps"]} == {"conversion", "days_to_next", "created"}
    (inflow,) = [step for step in answer["steps"] if step["metric"] == "created"]
    assert inflow["from_milestone"] == "created" and inflow["baseline"]["value"] > 0
    text = run(["health", "--all", "--process", "smb"], env, tmp_path).stdout
    assert "process health as of" in text and "flagged among" in text
    assert "created" in text and " a week (" in text  # new deals a week, in the table
    bad = run(["health", "--as-of", "someday"], env, tmp_path)
    assert bad.returncode == 2

    done = run(["health", "--part", "value", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    valued = json.loads(done.stdout)
    assert [m["milestone"] for m in valued["milestones"]] == ["reply", "meeting", "proposal"]
    assert all(m["verdict"] == "adds information" for m in valued["milestones"])
    text = run(["health", "--part", "value", "--all"], env, tmp_path).stdout
    assert "milestone value as of" in text and "meeting → proposal" in text

    done = run(["health", "--part", "candidates", "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["candidates"] == []  # kpi_world stores no raw records
    text = run(["health", "--part", "candidates"], env, tmp_path).stdout
    assert "candidate milestones as of" in text and "0 proposed" in text

    draft = str(EXAMPLES / "salesforce.yaml")
    done = run(["health", "--part", "compare", "--draft", draft, "--json"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    compared = json.loads(done.stdout)  # kpi_world keeps no raw records: the draft derives none
    assert compared["active"]["versions"] == {"crm": 1} and compared["draft"]["note"]
    assert compared["verdict"] == "no backtest to compare"
    assert run(["health", "--part", "compare"], env, tmp_path).returncode == 2

    # the README's commands, verbatim (its draft.yaml: a copy of the example rules)
    (tmp_path / "draft.yaml").write_text((EXAMPLES / "salesforce.yaml").read_text())
    commands = milestones_commands(section("Process health"))
    assert len(commands) == 5 and {c[0] for c in commands} == {"health"}
    for command in commands:
        done = run(command, env, tmp_path)
        assert done.returncode == 0, (command, done.stderr)


def test_candidates_show_their_progress_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.health import PROGRESS_EVERY, _with_progress

    def compute(tell: Callable[[int], None]) -> str:
        for done in range(0, 3 * PROGRESS_EVERY + 1, PROGRESS_EVERY // 2):
            tell(done)
        return "answer"

    assert _with_progress(compute) == "answer"
    printed = capsys.readouterr()
    assert printed.out == ""  # stdout keeps the answer alone (--json)
    lines = printed.err.splitlines()
    assert lines == [f"candidates: {n * PROGRESS_EVERY:,} stored records read" for n in (1, 2, 3)]
