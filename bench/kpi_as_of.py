"""The cost of a KPI answer at a past instant (`as_of`) over a large history.

    python -m bench kpi_as_of [--deals 100000] [--days 365,90]

Writes the synthetic history of `bench/_kpi_history.py` (`--deals` opportunities, ~10 events
each) into a temp SQLite file, as `kpi_load` does, and loads the KPI view (`load_s`). Then for
each instant `--days` before the history's end: the first past view (`cold_s`: reading what
the database keeps of the past, cutting the columns, refitting the model and deriving every
row at the instant, as the first `?as_of=` request does), the funnel, stalled and forecast
answers on it (`answers_ms`), and the same instant asked again (`cached_ms`: kept per view
generation). The synthetic history has no raw records but one stand-in for the CRM's clock,
so no field history (OpportunityHistory) is read: a real Salesforce history adds that read,
once per view generation.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench kpi_as_of")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--days", default="365,90")
    options = parser.parse_args(args)
    from app.core.database import Database
    from app.services.kpis import queries
    from app.services.kpis.store import KpiStore
    from bench.kpi_load import _prepare

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'kpi.db'}"
        started = time.perf_counter()
        world = _prepare(url, options.deals)
        built = time.perf_counter() - started
        database = Database(url)
        store = KpiStore(database)
        started = time.perf_counter()
        now = store.snapshot()
        loaded = time.perf_counter() - started
        everyone = queries.Filters()
        for days in (int(d) for d in options.days.split(",")):
            moment = now.as_of - timedelta(days=days)
            started = time.perf_counter()
            past = store.at(moment)
            cold = time.perf_counter() - started
            started = time.perf_counter()
            queries.funnel(past, everyone)
            queries.opportunity_page(past, everyone, outcome="open", only_stalled=True)
            queries.forecast_kpi(past, everyone, 3)
            answers = time.perf_counter() - started
            started = time.perf_counter()
            assert store.at(moment) is past
            cached = time.perf_counter() - started
            rows.append(
                {
                    "deals": options.deals,
                    "events": world["events"],
                    "days_back": days,
                    "deals_then": len(past.columns),
                    "build_s": round(built, 1),
                    "load_s": round(loaded, 2),
                    "cold_s": round(cold, 2),
                    "answers_ms": round(answers * 1000, 1),
                    "cached_ms": round(cached * 1000, 3),
                }
            )
        database.dispose()
    return rows
