"""Salesforce sync end to end: sandbox org over HTTPS -> simple-salesforce -> raw layer.

    python -m bench sync_salesforce [--activities 100000,1000000] [--seed 7]

For each size a history is generated (cached under `data/bench/`), served by the sandbox in its
own process, and synced into a fresh SQLite database by a fresh process (so peak RSS is the
sync's alone). Measured: a full sync of the activity streams (Task, Event, EmailMessage) —
records/s, API calls next to the minimum the 2,000-record pages allow (Bulk API 2.0 takes over
above 50,000 rows, so the REST-only figure is measured as well) — then 1% of the Tasks are
changed through sObject Collections and an incremental sync's API calls are compared with
ceil(changed / 2,000) plus a constant per stream.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ACTIVITY_STREAMS = ["Task", "Event", "EmailMessage"]
ACTIVITIES_PER_OPPORTUNITY = 16.8  # Salesforce rendering of the generator, measured
CACHE = Path("data") / "bench"


def _history(activities: int, seed: int) -> Path:
    opportunities = max(50, round(activities / ACTIVITIES_PER_OPPORTUNITY))
    folder = CACHE / f"sf-seed{seed}-opps{opportunities}"
    if not (folder / "manifest.json").exists():
        print(f"… generating {opportunities:,} opportunities", file=sys.stderr, flush=True)
        milestones = str(Path(sys.executable).parent / "milestones")
        subprocess.run(
            [milestones, "sandbox", "generate", "--seed", str(seed),
             "--opportunities", str(opportunities), "--out", str(folder), "--force"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return folder


def _serve(folder: str, pipe: Connection) -> None:
    from sandbox.crm import Sandbox, SandboxConfig, SandboxServer

    server = SandboxServer(Sandbox.from_export(folder, SandboxConfig())).start()
    pipe.send(server.connection_info()["salesforce"])
    while True:
        message = pipe.recv()
        if message == "stop":
            break
        pipe.send(_change_tasks(server, float(message)))
    server.stop()


def _change_tasks(server: Any, share: float) -> int:
    """Edit `share` of the live Tasks through sObject Collections, as a CRM user would."""
    from connectors.core import ApiBudget
    from connectors.salesforce import SalesforceAuth, SalesforceClient

    info = server.connection_info()["salesforce"]
    auth = SalesforceAuth(
        "client_credentials", info["token_url"], info["client_id"], info["client_secret"]
    )
    client = SalesforceClient(auth, ApiBudget(), ca_file=info["ca_file"])
    ids = [r["Id"] for r in client.call(lambda sf: sf.query_all("SELECT Id FROM Task"))["records"]]
    chosen = ids[:: max(1, round(1 / share))]
    for start in range(0, len(chosen), 200):
        batch = [
            {
                "attributes": {"type": "Task"},
                "id": task_id,
                "Description": "Edited for the benchmark",
            }
            for task_id in chosen[start : start + 200]
        ]
        client.call(
            lambda sf, batch=batch: sf.restful(
                "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": batch}
            )
        )
    client.close()
    return len(chosen)


def sync_case(url: str, info: dict[str, Any], bulk: bool, full: bool) -> dict[str, Any]:
    """One sync in this process; prints its figures as JSON."""
    from app.core.crypto import SecretBox, generate_key
    from app.core.database import Database, upgrade
    from app.services.connections.changes import upsert_connection
    from app.services.sync.runs import sync_connection

    database = Database(url)
    upgrade(database.engine)
    key_file = Path(url.removeprefix("sqlite:///")).with_suffix(".key")
    if not key_file.exists():
        key_file.write_text(generate_key())
    box = SecretBox([key_file.read_text().encode()])
    with database.session() as session:
        upsert_connection(
            session, box, name="bench",
            settings={
                "kind": "salesforce", "auth_flow": "client_credentials",
                "token_url": info["token_url"], "client_id": info["client_id"],
                "ca_file": info["ca_file"], "streams": ACTIVITY_STREAMS,
                "bulk_threshold": 50_000 if bulk else None, "bulk_poll_seconds": 0.5,
            },
            secrets={"client_secret": info["client_secret"]},
        )  # fmt: skip
    started = time.perf_counter()
    report = sync_connection(database, box, "bench", full=full)
    seconds = time.perf_counter() - started
    streams = report.model_dump(mode="json")["streams"]
    return {
        "status": report.status,
        "records": sum(row["read"] for row in streams),
        "per_stream": {row["stream"]: row["read"] for row in streams},
        "changed": sum(row["changed"] for row in streams),
        "api_calls": report.api_calls,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _child(url: str, info: dict[str, Any], bulk: bool, full: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.sync_salesforce", url, json.dumps(info)]
    done = subprocess.run(
        [*command, str(bulk), str(full)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"sync case failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _minimum_calls(per_stream: dict[str, int]) -> int:
    return sum(max(1, math.ceil(n / 2000)) for n in per_stream.values())


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench sync_salesforce")
    parser.add_argument("--activities", default="100000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--modes", default="rest,bulk", help="rest, bulk or both")
    options = parser.parse_args(args)
    rows: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")
    for activities in (int(n) for n in options.activities.split(",")):
        folder = _history(activities, options.seed)
        parent, child = context.Pipe()
        server = context.Process(target=_serve, args=(str(folder), child), daemon=True)
        server.start()
        if not parent.poll(600):
            raise SystemExit("the sandbox did not start within 10 minutes")
        info = parent.recv()
        try:
            with tempfile.TemporaryDirectory() as workdir:
                for bulk in [mode == "bulk" for mode in options.modes.split(",")]:
                    url = f"sqlite:///{workdir}/{'bulk' if bulk else 'rest'}.db"
                    print(f"… {activities:,}: full sync, bulk={bulk}", file=sys.stderr, flush=True)
                    full = _child(url, info, bulk, True)
                    rows.append({
                        "case": f"full sync ({'REST + Bulk API 2.0' if bulk else 'REST only'})",
                        "activities": full["records"], "seconds": full["seconds"],
                        "records_per_s": round(full["records"] / full["seconds"]),
                        "api_calls": full["api_calls"],
                        "minimum_calls": _minimum_calls(full["per_stream"]),
                        "peak_rss_mb": full["peak_rss_mb"], "status": full["status"],
                    })  # fmt: skip
                parent.send("0.01")
                changed = parent.recv()
                print(f"… {activities:,}: incremental after {changed:,} changes", file=sys.stderr)
                incremental = _child(f"sqlite:///{workdir}/rest.db", info, False, False)
                rows.append({
                    "case": "incremental after 1% of Tasks changed",
                    "activities": incremental["records"], "seconds": incremental["seconds"],
                    "records_per_s": round(incremental["records"] / incremental["seconds"]),
                    "api_calls": incremental["api_calls"],
                    "minimum_calls": math.ceil(changed / 2000) + len(ACTIVITY_STREAMS) - 1,
                    "peak_rss_mb": incremental["peak_rss_mb"], "status": incremental["status"],
                    "changed": incremental["changed"],
                })  # fmt: skip
        finally:
            parent.send("stop")
            server.join(timeout=30)
    return rows


if __name__ == "__main__":
    db_url, info_json, bulk_arg, full_arg = sys.argv[1:5]
    print(
        json.dumps(sync_case(db_url, json.loads(info_json), bulk_arg == "True", full_arg == "True"))
    )
