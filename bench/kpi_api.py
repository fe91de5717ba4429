"""KPI endpoint latency over a synthetic history, in-process (FastAPI TestClient).

    python -m bench kpi_api [--deals 20000] [--requests 50]

Builds the history of `tests/support/kpi_world.py` (one process, three milestones, two reps)
with `--deals` opportunities in a fresh SQLite file, builds opportunity state with the state
service, then times each KPI endpoint: the first request (cold: loads state and fits the
model, or computes the result) and `--requests` more (warm: the view is cached until state
changes), reporting p50/p95 and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PATHS = (
    "/api/v1/funnel",
    "/api/v1/funnel?team=North",
    "/api/v1/movement",
    "/api/v1/velocity",
    "/api/v1/stalled",
    "/api/v1/forecast?months=3",
    "/api/v1/opportunities?limit=100",
    "/api/v1/opportunities/5",
    "/api/v1/reps/005A/scorecard",
)


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench kpi_api")
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=50)
    options = parser.parse_args(args)
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from app.api.main import create_app
    from app.core.database import Database, upgrade
    from app.core.settings import Settings
    from app.models import MilestoneEvent
    from app.services.access.api_keys import create_key
    from tests.support.kpi_world import build

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'kpi.db'}")
        upgrade(database.engine)
        started = time.perf_counter()
        build(database, options.deals)
        built = time.perf_counter() - started
        with database.session() as session:
            events = session.scalar(select(func.count()).select_from(MilestoneEvent))
            _, secret = create_key(session, "bench", "manager")
        print(f"… {options.deals:,} deals, {events:,} events in {built:.1f} s", file=sys.stderr)
        app = create_app(Settings(log_level="WARNING"), database)
        with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as client:
            for path in PATHS:
                started = time.perf_counter()
                first = client.get(path)
                cold = (time.perf_counter() - started) * 1000
                assert first.status_code == 200, (path, first.text)
                times = []
                for _ in range(options.requests):
                    started = time.perf_counter()
                    client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                rows.append(
                    {
                        "backend": "sqlite",
                        "deals": options.deals,
                        "events": events,
                        "path": path,
                        "cold_ms": round(cold, 1),
                        "p50_ms": round(statistics.median(times), 2),
                        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
                    }
                )
        database.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for row in rows:
        row["peak_rss_mb"] = round(peak, 1)
    return rows
