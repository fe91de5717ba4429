"""The cost of a target's plan over a large history: `GET /api/v1/targets/{id}/plan` cold.

    python -m bench target_plan [--deals 20000]

Writes the synthetic history of `bench/_kpi_history.py` (`--deals` opportunities, three
processes of six milestones, 48 reps in six teams) into a temp SQLite file, loads the KPI view,
and times the plan (made now and at the period's start, tracked since) of the SMB process's
quarter target alone, with the six team targets under it, of one team and of one rep. What
the API adds (the first answer per view generation is computed, later ones are served from
memory) is measured by `kpi_load`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench target_plan")
    parser.add_argument("--deals", type=int, default=20_000)
    options = parser.parse_args(args)
    from app.core.database import Database
    from app.services.kpis.store import KpiStore
    from app.services.targets.periods import Period
    from app.services.targets.plan import target_plan
    from app.services.targets.public import TargetPublic
    from bench._kpi_history import TEAMS
    from bench.kpi_load import _prepare

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'kpi.db'}"
        _prepare(url, options.deals)
        database = Database(url)
        snapshot = KpiStore(database).snapshot()
        quarter = Period.containing("quarter", snapshot.as_of)
        ids = iter(range(1, 100))

        def target(value: float, team: str | None = None, owner: str | None = None) -> Any:
            moment = datetime.now(UTC)
            return TargetPublic(
                id=next(ids), process="smb", period=quarter.label, period_kind="quarter",
                start=quarter.start, end=quarter.end, metric="amount", value=value, team=team,
                owner=owner, created_by=None, created_at=moment, updated_at=moment,
            )  # fmt: skip

        whole = target(2_000_000)
        teams = [target(2_000_000 / len(TEAMS), team=t) for t in TEAMS]
        cases = [
            ("process", whole, []),
            ("process with 6 team targets", whole, teams),
            ("team", teams[0], []),
            ("rep", target(50_000, owner="005R000"), []),
        ]
        for name, chosen, children in cases:
            started = time.perf_counter()
            plan = target_plan(snapshot, chosen, children)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "deals": options.deals,
                    "target": name,
                    "period": quarter.label,
                    "status": plan.status,
                    "weeks": len(plan.weeks),
                    "plan_ms": round(seconds * 1000, 1),
                }
            )
        database.dispose()
    return rows
