"""HubSpot sync against the sandbox over loopback: API calls, incremental cost, throughput.

    python -m bench sync_hubspot [--size medium | --opportunities N] [--seed 1] [--changed 0.01]
                                 [--backend sqlite|postgresql] [--history DIR]

A generated sales history is served by the sandbox CRM (rate limits lifted, so the figure is the
connector's and the database's, not HubSpot's 190 calls per 10 s) and synced by the real sync
service, through hubspot-api-client, into a fresh database. Each sync runs in its own process,
so its peak RSS and CPU time are its own: `records_per_s` is end to end (wall clock, the sandbox
serving in the parent process), `records_per_cpu_s` the connector and the database alone.
`activities` counts the engagement records (emails, meetings, calls, notes, tasks), the figure
the 1M target names. `--history DIR` reuses (or keeps) a generated history; only its HubSpot
half is loaded.

- **full**: a first sync. `minimum_calls` is what the page sizes allow: per object type
  ceil(live / 100) + ceil(archived / 100) (deals 50, as they carry their stage history), owners
  and pipelines one call each. The rest is the per-stream constant (property definitions, the
  end-of-walk probe, an empty last page).
- **incremental**: after `--changed` of each object type's records were edited (distinct
  timestamps). `search_minimum` is ceil(changed / 200) per stream, the figure the issue names;
  `with_links_minimum` adds what the same records need besides: one v4 association read per
  associated type per 1,000 records and, for deals, a history read per 50.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._database import database_url

SCHEMA = "bench_sync_hubspot"
OBJECTS = ("companies", "contacts", "deals", "emails", "meetings", "calls", "notes", "tasks")
ACTIVITIES = ("emails", "meetings", "calls", "notes", "tasks")
EDITED = {
    "companies": "name",
    "contacts": "jobtitle",
    "deals": "dealname",
    "emails": "hs_email_subject",
    "meetings": "hs_meeting_title",
    "calls": "hs_call_title",
    "notes": "hs_note_body",
    "tasks": "hs_task_subject",
}
LINKED_TYPES = {"companies": 2, "contacts": 2, "deals": 2}


def child(url: str, key: str) -> dict[str, Any]:
    """One sync of the connection `bench`, in this (fresh) process."""
    from app.core.crypto import SecretBox
    from app.core.database import Database
    from app.services.sync.runs import sync_connection

    database = Database(url)
    started, cpu_started = time.perf_counter(), time.process_time()
    report = sync_connection(database, SecretBox([key.encode()]), "bench")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    database.dispose()
    return {
        "report": report.model_dump(mode="json"),
        "seconds": seconds,
        "cpu": cpu,
        "peak_rss_mb": _peak_mb(),
    }


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM: ru_maxrss would include the parent's, from the fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(url: str, key: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "bench.sync_hubspot", "child", url],
        input=key,
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"the sync failed:\n{process.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    if result["report"]["status"] != "succeeded":
        raise SystemExit(f"the sync did not succeed: {json.dumps(result['report'])[:2000]}")
    return result


def _minimum(sandbox: Any) -> dict[str, int]:
    hub = sandbox.hubspot
    minimum = {"owners": 1, "pipelines": 1}
    for stream in OBJECTS:
        page = 50 if stream == "deals" else 100
        live = sum(not o.archived for o in hub.objects[stream].values())
        archived = len(hub.objects[stream]) - live
        minimum[stream] = math.ceil(live / page) + math.ceil(archived / page)
    return minimum


def _edit(sandbox: Any, share: float) -> dict[str, int]:
    """Edit `share` of each object type's live records, one millisecond apart."""
    hub = sandbox.hubspot
    moment = sandbox.now() + timedelta(minutes=1)
    changed: dict[str, int] = {}
    step = max(1, round(1 / share))
    for stream in OBJECTS:
        live = sorted((o.id for o in hub.objects[stream].values() if not o.archived), key=int)
        chosen = live[::step]
        for ident in chosen:
            value = f"{hub.objects[stream][ident].properties.get(EDITED[stream]) or ''} (edited)"
            hub.update(stream, ident, {EDITED[stream]: value}, moment)
            moment += timedelta(milliseconds=1)
        changed[stream] = len(chosen)
    return changed


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench sync_hubspot")
    parser.add_argument("--size", default="medium")
    parser.add_argument("--opportunities", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--history", type=Path, help="generated history to reuse or keep")
    options = parser.parse_args(args)

    from app.core.crypto import SecretBox, generate_key
    from app.core.database import Database, upgrade
    from app.services.connections.registry import create_connection
    from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
    from sandbox.history import build_params, generate

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as workdir:
        history = options.history or Path(workdir) / "history"
        if not (history / "manifest.json").exists():
            print("… generating the sales history", file=sys.stderr, flush=True)
            params = build_params(
                seed=options.seed, size=options.size, opportunities=options.opportunities
            )
            generate(params, history, workers=2)
        print("… loading the sandbox (HubSpot only)", file=sys.stderr, flush=True)
        unlimited = 10**9
        config = SandboxConfig(
            hs_search_per_second=None, hs_ten_second_max=unlimited, hs_daily_max=unlimited
        )
        sandbox = Sandbox.from_export(history, config, crms=("hubspot",))
        records = sum(len(table) for table in sandbox.hubspot.objects.values())
        activities = sum(len(sandbox.hubspot.objects[kind]) for kind in ACTIVITIES)
        records += len(sandbox.hubspot.owners) + len(sandbox.hubspot.pipelines)
        minimum = _minimum(sandbox)
        url = database_url(options.backend, Path(workdir) / "bench.db", SCHEMA)
        database = Database(url)
        upgrade(database.engine)
        key = generate_key()
        with SandboxServer(sandbox) as server:
            info = server.connection_info()["hubspot"]
            with database.session() as session:
                create_connection(
                    session,
                    SecretBox([key.encode()]),
                    name="bench",
                    settings={
                        "kind": "hubspot",
                        "base_url": info["base_url"],
                        "search_per_second": 100,
                    },
                    secrets={"access_token": info["access_token"]},
                )
            database.dispose()
            print(f"… full sync of {records:,} records", file=sys.stderr, flush=True)
            full = _sync(url, key)
            full_calls = {s["stream"]: s["api_calls"] for s in full["report"]["streams"]}
            changed = _edit(sandbox, options.changed)
            print(f"… incremental sync after {sum(changed.values()):,} edits", file=sys.stderr)
            incremental = _sync(url, key)
            incremental_calls = {
                s["stream"]: s["api_calls"] for s in incremental["report"]["streams"]
            }
        search_min = {s: math.ceil(n / 200) for s, n in changed.items()}
        linked_min = {
            s: search_min[s]
            + LINKED_TYPES.get(s, 3) * math.ceil(n / 1000)
            + (math.ceil(n / 50) if s == "deals" else 0)
            for s, n in changed.items()
        }
        streams = len(full_calls)
        spent = full["report"]["api_calls"]
        least = sum(minimum.values())
        rows.append(
            {
                "case": "full",
                "stream": f"all {streams}",
                "records": records,
                "activities": activities,
                "api_calls": spent,
                "minimum": least,
                "ratio": round(spent / least, 3),
                "extra_per_stream": round((spent - least) / streams, 1),
                "seconds": round(full["seconds"], 1),
                "records_per_s": round(records / full["seconds"]),
                "sync_cpu_s": round(full["cpu"], 1),
                "records_per_cpu_s": round(records / full["cpu"]),
                "peak_rss_mb": round(full["peak_rss_mb"], 1),
            }
        )
        spent = incremental["report"]["api_calls"]
        least = sum(linked_min.values())
        rows.append(
            {
                "case": f"incremental {options.changed:.0%}",
                "stream": f"all {streams}",
                "records": sum(changed.values()),
                "api_calls": spent,
                "minimum": least,
                "search_minimum": sum(search_min.values()),
                "ratio": round(spent / least, 3),
                "extra_per_stream": round((spent - least) / streams, 1),
                "seconds": round(incremental["seconds"], 1),
                "sync_cpu_s": round(incremental["cpu"], 1),
                "peak_rss_mb": round(incremental["peak_rss_mb"], 1),
            }
        )
        for stream in ("owners", "pipelines", *OBJECTS):
            rows.append(
                {
                    "case": "full",
                    "stream": stream,
                    "api_calls": full_calls.get(stream),
                    "minimum": minimum[stream],
                }
            )
        for stream in OBJECTS:
            rows.append(
                {
                    "case": f"incremental {options.changed:.0%}",
                    "stream": stream,
                    "records": changed[stream],
                    "api_calls": incremental_calls.get(stream),
                    "minimum": linked_min[stream],
                    "search_minimum": search_min[stream],
                }
            )
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        print(json.dumps(child(sys.argv[2], sys.stdin.read().strip())))
