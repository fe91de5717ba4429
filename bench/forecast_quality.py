"""Forecast quality on a generated sales history: the backtest's WAPE, milestone forecast vs.
the CRM's weighted pipeline and a naive run-rate, 1 and 3 months ahead.

    python -m bench forecast_quality [--seed 1] [--opportunities 4000] [--crm salesforce]

Generates the history, loads its export into a fresh SQLite raw layer (the path of
`bench/mapping_accuracy.py`, no CRM call), activates the shipped example ruleset (which
derives events and builds opportunity state), then runs `run_backtest`: at each of the last
12 month starts whose 3-month horizon is complete, the model sees only what was known then.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.mapping_accuracy import EXAMPLES, generate_export, load_export


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench forecast_quality")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--opportunities", type=int, default=4000)
    parser.add_argument("--crm", default="salesforce")
    parser.add_argument("--months", type=int, default=12)
    options = parser.parse_args(args)
    from app.core.database import Database, upgrade
    from app.services.kpis.backtest import run_backtest
    from app.services.mapping.activation import activate_ruleset

    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        generate_export(options.seed, "small", export, options.opportunities)
        database = Database(f"sqlite:///{Path(tmp) / 'q.db'}")
        upgrade(database.engine)
        load_export(database, export, options.crm)
        path = EXAMPLES / f"{options.crm}.yaml"
        activate_ruleset(database, path.read_text(), str(path))
        started = time.perf_counter()
        result = run_backtest(database, options.months)
        seconds = time.perf_counter() - started
        database.dispose()
    return [
        {
            "crm": options.crm,
            "seed": options.seed,
            "opportunities": options.opportunities,
            "origins": len(result.origins),
            **asdict(row),
            "baseline_values": getattr(result, "baseline_values", ""),
            "backtest_s": round(seconds, 1),
        }
        for row in result.horizons
    ]
