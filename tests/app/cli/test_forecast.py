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
    assert "band: the band is the model's own: too little history" in shown.stdout
    assert answer["band_calibration"]["state"] == "no backtest"
    for bad, code in ((["--as-of", "someday"], 2), (["--as-of", "2999-01-01"], 1)):
        refused = run(["forecast", *bad], env, tmp_path)
        assert refused.returncode == code, (bad, refused.stderr)
        assert "as-of" in refused.stderr or "as_of" in refused.stderr


def test_the_band_line_says_each_months_correction_and_the_past_origins_it_rests_on(
    db: Database,
) -> None:
    from datetime import timedelta

    from app.cli.forecast import _calibration_line
    from app.kpis.backtest import HistoryNeed
    from app.services.kpis.backtest import BacktestReport, calibration_of, run_backtest
    from app.services.kpis.filters import Filters
    from app.services.kpis.queries import forecast_kpi
    from app.services.kpis.store import KpiStore
    from tests.support.kpi_world import START

    build(db)
    small = HistoryNeed(closed=20, won=3, days=60)
    report = run_backtest(db, start=(START + timedelta(days=100)).date(), horizons=3, need=small)
    assert isinstance(report, BacktestReport)
    answer = forecast_kpi(KpiStore(db).snapshot(), Filters(), 2, True, calibration_of(report))
    line = _calibration_line(answer)
    first, second = answer.months
    origins = len(report.origins)
    assert line.startswith("band calibrated by the backtest")
    assert f"{first.month} x{first.band_scale:.2f} ({origins} past origins" in line
    assert f"{second.month} x{second.band_scale:.2f} ({origins - 1} past origins" in line
