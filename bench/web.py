"""Server time and weight of every web page over a large synthetic history, in-process.

    python -m bench web [--deals 100000] [--requests 30]

Writes the synthetic history of `bench/_kpi_history.py` (`--deals` opportunities, ~10 events
each: 100,000 give ~1,000,000) into a fresh SQLite file, starts the app (its KPI view loads
and fits before the first page), signs in as a manager and as ops through the sign-in form,
waits for the backtest the app computes off the request path from start-up (on the KPI
keeper's thread; its time is reported as `backtest_computed_s`), then times each page: the
first request (cold: the page's answers computed for this view generation) and `--requests`
more (warm: answers kept per generation, the page rendered every time), reporting p50/p95 and
the page's weight: its HTML plus the stylesheet and scripts it loads (charts are inline SVG;
no image, font or CDN).
Targets: p95 <= 150 ms, weight <= 500 KB.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
ASSET = re.compile(r'(?:src|href)="(/static/web/[^"]+)"')


def _sign_in(client: Any, key: str) -> None:
    client.cookies.clear()
    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/sign-in", data={"key": key, "csrf_token": token.group(1)})
    assert answer.status_code == 303, answer.text


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench web")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    options = parser.parse_args(args)
    from fastapi.testclient import TestClient
    from pydantic import SecretStr
    from sqlalchemy import select

    from app.api.deps import keeper_of, kpi_store_of
    from app.api.main import create_app
    from app.core.crypto import generate_key
    from app.core.database import Database, upgrade
    from app.core.settings import Settings
    from app.models import OpportunityState, RawRecord, StreamCursor
    from app.services.access.api_keys import create_key
    from app.services.kpis.backtest import kept_backtest
    from bench._kpi_history import build
    from tests.support.waiting import wait_for

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'web.db'}")
        upgrade(database.engine)
        started = time.perf_counter()
        world = build(database, options.deals, as_of=AS_OF)
        print(
            f"… {world['deals']:,} deals, {world['events']:,} events "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        with database.session() as session:
            # a synced record and cursor at AS_OF: the data clock (the KPIs' "now") is then
            # the history's end, as after a real sync
            session.add(
                RawRecord(
                    connection_id=world["connection"],
                    stream="Opportunity",
                    external_id="006B00000000",
                    modified_at=AS_OF,
                    payload={"Id": "006B00000000"},
                    payload_hash="-",
                )
            )
            session.add(
                StreamCursor(
                    connection_id=world["connection"], stream="Opportunity", last_value=AS_OF
                )
            )
            manager = create_key(session, "bench manager", "manager")[1]
            ops = create_key(session, "bench ops", "ops")[1]
            deal = session.scalar(
                select(OpportunityState.opportunity_id)
                .where(OpportunityState.outcome == "open")
                .order_by(OpportunityState.opportunity_id)
                .limit(1)
            )
        settings = Settings(
            log_level="WARNING",
            secret_key=SecretStr(generate_key()),
            data_dir=Path(tmp),
        )
        app = create_app(settings, database)
        pages = {
            "manager": [
                "/",
                f"/?team={world['team']}&period=90d",
                "/?period=7d",
                "/forecast",
                "/forecast/backtest",
                "/stalled",
                f"/opportunities/{deal}",
                "/reps",
                f"/reps/{world['rep']}",
            ],
            "ops": ["/ops/connections", "/ops/rules"],
        }
        with TestClient(app, follow_redirects=False) as client:
            assert wait_for(lambda: kpi_store_of(app).ready), "the KPI view did not load"
            # the backtest is computed off the request path, on the keeper's thread, from
            # start-up: wait for it, so that its page is timed with the answer it shows
            started = time.perf_counter()
            kept = kept_backtest(keeper_of(app), database, months=12, wait=True)
            assert kept is not None
            print(
                f"… backtest kept after {time.perf_counter() - started:.0f} s more "
                f"(computed in {kept.seconds:.0f} s on the keeper's thread)",
                file=sys.stderr,
            )
            backtest_s = round(kept.seconds, 1)
            assets: dict[str, int] = {}
            for role, key in (("manager", manager), ("ops", ops)):
                _sign_in(client, key)
                for path in pages[role]:
                    started = time.perf_counter()
                    first = client.get(path)
                    cold = (time.perf_counter() - started) * 1000
                    assert first.status_code == 200, (path, first.status_code, first.text[:300])
                    times = []
                    for _ in range(options.requests):
                        started = time.perf_counter()
                        client.get(path)
                        times.append((time.perf_counter() - started) * 1000)
                    times.sort()
                    for asset in ASSET.findall(first.text):
                        if asset not in assets:
                            assets[asset] = len(client.get(asset).content)
                    weight = len(first.content) + sum(
                        assets[a] for a in set(ASSET.findall(first.text))
                    )
                    rows.append(
                        {
                            "deals": world["deals"],
                            "events": world["events"],
                            "page": path,
                            "cold_ms": round(cold, 1),
                            "p50_ms": round(statistics.median(times), 1),
                            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                            "html_kb": round(len(first.content) / 1024, 1),
                            "weight_kb": round(weight / 1024, 1),
                            **({"backtest_computed_s": backtest_s} if "backtest" in path else {}),
                        }
                    )
        database.dispose()
    return rows
