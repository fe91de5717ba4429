"""Process health (drift) against the generator's market changes, over seeds.

    python -m bench health [--seeds 1,2,3,4,5] [--scenarios steady,conversion_drop]
                           [--opportunities 8000]

Per seed and scenario: a 480-day history whose market changes at its middle (2023-12-31) is
generated, loaded into a fresh SQLite raw layer, activated with the shipped Salesforce rules,
and asked for drift as of 2024-03-04 (nine weeks after the change). Pass: `steady` flags
nothing; a change flags only steps into the milestone it touched (`proposal_requested` for
`conversion_drop`), with a conversion drop whose `since` is within 28 days of the change.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.mapping_accuracy import EXAMPLES, load_export

CHANGE = datetime(2023, 12, 31, tzinfo=UTC)
AS_OF = datetime(2024, 3, 4, tzinfo=UTC)
TOUCHED = {"conversion_drop": "proposal_requested"}


def _answer(seed: int, scenario: str, opportunities: int, tmp: Path) -> Any:
    from app.core.database import Database, upgrade
    from app.services.health.drift import drift
    from app.services.kpis.filters import Filters
    from app.services.kpis.store import KpiStore
    from app.services.mapping.activation import activate_ruleset
    from sandbox.history import build_params, generate

    params = build_params(
        seed=seed, opportunities=opportunities, scenario=scenario, now=CHANGE + timedelta(240)
    )
    params = replace(params, history_days=480)
    generate(params, tmp / "export", force=True)
    database = Database(f"sqlite:///{tmp / 'health.db'}")
    try:
        upgrade(database.engine)
        load_export(database, tmp / "export", "salesforce")
        rules = EXAMPLES / "salesforce.yaml"
        activate_ruleset(database, rules.read_text(), str(rules))
        return drift(KpiStore(database, as_of_setting=AS_OF).snapshot(), Filters())
    finally:
        database.dispose()


def _row(seed: int, scenario: str, answer: Any, seconds: float) -> dict[str, Any]:
    flagged = [s for s in answer.steps if s.flagged]
    touched = TOUCHED.get(scenario)
    if touched is None:
        passed = not flagged
    else:
        drops = [
            s
            for s in flagged
            if s.metric == "conversion"
            and s.since is not None
            and abs((s.since - CHANGE.date()).days) <= 28
        ]
        passed = bool(drops) and all(s.to_milestone == touched for s in flagged)
    return {
        "scenario": scenario,
        "seed": seed,
        "tested": answer.tested,
        "flagged": "; ".join(
            f"{s.process}:{s.to_milestone}:{s.metric}:{s.direction}:{s.since}" for s in flagged
        )
        or "-",
        "pass": passed,
        "seconds": round(seconds, 1),
    }


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench health")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--scenarios", default="steady,conversion_drop")
    parser.add_argument("--opportunities", type=int, default=8000)
    options = parser.parse_args(args)
    rows = []
    for scenario in options.scenarios.split(","):
        for seed in (int(s) for s in options.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                answer = _answer(seed, scenario, options.opportunities, Path(tmp))
                rows.append(_row(seed, scenario, answer, time.perf_counter() - started))
    return rows
