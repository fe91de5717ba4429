"""`milestones forecast` as a real process: the months ahead with their band, split by the
milestone the open deals stand at, and the pipeline not yet created."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.database import Database, upgrade
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases
from tests.support.kpi_world import NOW, build


def test_forecast_splits_each_month_by_milestone_and_new_pipeline(
    env: dict[str, str], tmp_path: Path, fresh_databases: FreshDatabases
) -> None:
    env["DATABASE_URL"] = fresh_databases.url("cli_forecast")
    env["COLUMNS"] = "200"
    database = Database(env["DATABASE_URL"])
    upgrade(database.engine)
    build(database, deals=120)
    database.dispose()

    answer = json.loads(run(["forecast", "--months", "2", "--json"], env, tmp_path).stdout)
    assert [m["month"] for m in answer["months"]] and len(answer["months"]) == 2
    for i, month in enumerate(answer["months"]):
        from_deals = sum(part["amounts"][i] for part in answer["by_milestone"])
        # what each month expects is the open deals at their milestones plus the new pipeline
        assert abs(month["expected_amount"] - from_deals - month["new_pipeline_amount"]) < 1.0
        assert month["p10_amount"] <= month["expected_amount"] <= month["p90_amount"]
    assert sum(part["deals"] for part in answer["by_milestone"]) == answer["open_opportunities"]
    assert answer["half_lives"] == [
        {"process": "smb", "version": 1, "half_life_days": 365.0, "why": "default"}
    ]

    alone = json.loads(
        run(["forecast", "--no-new-pipeline", "--process", "smb", "--json"], env, tmp_path).stdout
    )
    assert alone["includes_new_pipeline"] is False and alone["filters"]["process"] == "smb"
    assert all(m["new_pipeline_amount"] == 0 for m in alone["months"])

    anns = json.loads(run(["forecast", "--owner", "ANN", "--json"], env, tmp_path).stdout)
    assert anns["filters"]["owner"] == "005A"  # a rep by name (or e-mail) as by CRM owner id

    earlier = (NOW.date().replace(day=1)).isoformat()
    past = json.loads(run(["forecast", "--as-of", earlier, "--json"], env, tmp_path).stdout)
    assert past["as_of"].startswith(earlier)

    shown = run(["forecast"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "from the open deals at each milestone" in shown.stdout and "P10" in shown.stdout
    for bad, code in ((["--as-of", "someday"], 2), (["--as-of", "2999-01-01"], 1)):
        refused = run(["forecast", *bad], env, tmp_path)
        assert refused.returncode == code, (bad, refused.stderr)
        assert "as-of" in refused.stderr or "as_of" in refused.stderr
