"""Workers scale out: the same connections synced by one worker, then by three.

    python -m bench workers [--connections 9] [--workers 1,3] [--delay 0.2]
                            [--activities 5000] [--seed 7]

One sandbox org (a generated history of about `--activities` activity records, cached under
`data/bench/`) is served over HTTPS with every Salesforce call held back `--delay` seconds,
as a distant CRM answers. For each worker count, a fresh PostgreSQL schema (workers claim
work through PostgreSQL locks; SQLite has one process) gets `--connections` Salesforce
connections to the org, never synced; then that many `milestones worker --concurrency 1`
processes are started at once. Measured: wall time from the start of the processes until
every connection has a succeeded sync run and no sync job is queued or running, the runs'
API calls, and the 1-minute load average. The speed-up is one worker's wall time over each
count's. Target: three workers at least 2.5 times faster than one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._database import database_url, drop_schema
from bench.sync_salesforce import _history

SCHEMA = "bench_workers"
STREAMS = ["Account", "Contact", "Opportunity", "Task", "Event", "EmailMessage"]


def _connections(url: str, key: str, server: Any, count: int) -> None:
    from app.core.crypto import SecretBox
    from app.core.database import Database, upgrade
    from app.services.connections.registry import create_connection

    info = server.connection_info()["salesforce"]
    database = Database(url)
    upgrade(database.engine)
    with database.session() as session:
        for number in range(1, count + 1):
            create_connection(
                session,
                SecretBox([key.encode()]),
                name=f"org-{number}",
                sync_interval_seconds=86_400,
                settings={
                    "kind": "salesforce",
                    "auth_flow": "client_credentials",
                    "token_url": info["token_url"],
                    "client_id": info["client_id"],
                    "ca_file": info["ca_file"],
                    "streams": STREAMS,
                },
                secrets={"client_secret": info["client_secret"]},
            )
    database.dispose()


def _scalar(engine: Any, sql: str) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one() or 0)


def _case(server: Any, workers: int, options: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from sqlalchemy import create_engine

    from app.core.crypto import generate_key

    url = database_url("postgresql", tmp / "unused.db", SCHEMA)
    key = generate_key()
    engine = create_engine(url)  # one pool for the polling below, not one per query
    try:
        _connections(url, key, server, options.connections)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
        env |= {
            "DATABASE_URL": url,
            "MILESTONES_SECRET_KEY": key,
            "MILESTONES_DATA_DIR": str(tmp / f"data-{workers}"),
            "MILESTONES_LOG_LEVEL": "WARNING",
        }
        milestones = str(Path(sys.executable).parent / "milestones")
        load = os.getloadavg()[0]
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [milestones, "worker", "--concurrency", "1", "--poll", "0.2", "--name", f"w{n}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n in range(1, workers + 1)
        ]
        try:
            while True:
                done = _scalar(engine, "SELECT count(*) FROM sync_runs WHERE status = 'succeeded'")
                busy = _scalar(
                    engine, "SELECT count(*) FROM sync_jobs WHERE status IN ('queued', 'running')"
                )
                if done >= options.connections and not busy:
                    break
                if any(p.poll() is not None for p in processes):
                    raise SystemExit("a worker stopped before the connections were synced")
                if time.perf_counter() - started > options.timeout:
                    raise SystemExit(f"{workers} worker(s): not done in {options.timeout} s")
                time.sleep(0.1)
            wall = time.perf_counter() - started
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)
        records = _scalar(engine, "SELECT count(*) FROM raw_records")
        calls = _scalar(engine, "SELECT sum(api_calls) FROM sync_run_streams")
        failed = _scalar(engine, "SELECT count(*) FROM sync_runs WHERE status <> 'succeeded'")
    finally:
        engine.dispose()
        drop_schema("postgresql", SCHEMA)
    return {
        "workers": workers,
        "connections": options.connections,
        "delay_s": options.delay,
        "wall_s": round(wall, 1),
        "records": records,
        "api_calls": calls,
        "runs_not_succeeded": failed,
        "load_avg_1m_start": round(load, 2),
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
    }


def run(args: list[str]) -> list[dict[str, Any]]:
    from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
    from sandbox.crm.faults import Fault

    parser = argparse.ArgumentParser(prog="python -m bench workers")
    parser.add_argument("--connections", type=int, default=9)
    parser.add_argument("--workers", default="1,3")
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1800)
    options = parser.parse_args(args)
    folder = _history(options.activities, options.seed)
    rows: list[dict[str, Any]] = []
    with SandboxServer(Sandbox.from_export(folder, SandboxConfig())) as server:
        server.sandbox.faults.add(Fault("slow", api="salesforce", delay=options.delay, times=None))
        for workers in (int(n) for n in options.workers.split(",")):
            print(f"… {workers} worker(s)", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(_case(server, workers, options, Path(tmp)))
    one = next((row["wall_s"] for row in rows if row["workers"] == 1), None)
    for row in rows:
        row["speed_up"] = round(one / row["wall_s"], 2) if one else None
        row["target_met"] = row["workers"] != 3 or (row["speed_up"] or 0) >= 2.5
    return rows
