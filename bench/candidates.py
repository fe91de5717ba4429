"""Candidate milestones at scale: the customer actions no rule maps, valued, on a large history.

    python -m bench candidates [--opportunities 100000] [--seed 1]

A history with the generator's `--security-review` action (`--opportunities` deals, as of
2025-07-01) is generated (cached under `data/bench/`), loaded into a fresh SQLite raw layer and
activated with the shipped Salesforce rules, then `candidates` (what
`GET /api/v1/health/candidates` and `milestones health --part candidates` answer) is asked once
for every process. Measured: the records scanned, the time of the answer and the process's peak
RSS over the answer (the load before it is reported apart), and whether the security
questionnaire the rules do not map is proposed among each process's top 3.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.mapping_accuracy import EXAMPLES, load_export

NOW = datetime(2025, 7, 1, tzinfo=UTC)
CACHE = Path("data") / "bench"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: list[str]) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from app.core.database import Database, upgrade
    from app.models import RawRecord
    from app.services.health.candidates import candidates
    from app.services.kpis.filters import Filters
    from app.services.kpis.store import KpiStore
    from app.services.mapping.activation import activate_ruleset
    from sandbox.history import build_params, generate

    parser = argparse.ArgumentParser(prog="python -m bench candidates")
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(args)
    export = CACHE / f"security-seed{options.seed}-opps{options.opportunities}"
    if not (export / "manifest.json").exists():
        print(f"… generating {options.opportunities:,} opportunities", file=sys.stderr, flush=True)
        params = build_params(
            seed=options.seed, opportunities=options.opportunities, now=NOW, security_review=True
        )
        generate(params, export, force=True)
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'candidates.db'}")
        try:
            upgrade(database.engine)
            started = time.perf_counter()
            load_export(database, export, "salesforce")
            rules = EXAMPLES / "salesforce.yaml"
            activate_ruleset(database, rules.read_text(), str(rules))
            prepared = time.perf_counter() - started
            with database.session() as session:
                records = int(session.scalar(select(func.count()).select_from(RawRecord)) or 0)
            before = _peak_mb()
            load = os.getloadavg()[0]
            started = time.perf_counter()
            snapshot = KpiStore(database, as_of_setting=NOW).snapshot()
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            answer = candidates(database, snapshot, Filters())
            seconds = time.perf_counter() - started
        finally:
            database.dispose()
    by_process: dict[str, list[str]] = {}
    for found in answer.candidates:
        by_process.setdefault(found.process, []).append(found.rule_yaml)
    top3 = {
        process: any("security questionnaire" in rule for rule in rules[:3])
        for process, rules in by_process.items()
    }
    return [
        {
            "opportunities": options.opportunities,
            "raw_records": records,
            "load_and_activate_s": round(prepared, 1),
            "view_load_s": round(loaded, 1),
            "candidates_s": round(seconds, 1),
            "candidates": len(answer.candidates),
            "security_review_in_top3": ", ".join(f"{p}: {v}" for p, v in sorted(top3.items())),
            "peak_rss_mb_before": round(before, 1),
            "peak_rss_mb": round(_peak_mb(), 1),
            "load_avg_1m_start": round(load, 2),
            "load_avg_1m_end": round(os.getloadavg()[0], 2),
        }
    ]
