"""Scale: the raw layer, re-derivation and the KPI API at ten times the data, on both databases.

    python -m bench scale [--parts raw,rederive,kpi] [--backends postgresql,sqlite]
                          [--activities 1000000,10000000] [--opportunities 100000,1000000]
                          [--pg-paths bulk] [--rederive-records 1000000]

- `raw`: for each backend and each `--activities` size, records streamed into a fresh raw
  layer (`bench._scale_raw`, a child process per case): store rows/s overall and per tenth of
  the load (flat or not), rows per CPU-second of this process and its PostgreSQL backend,
  the unchanged re-read of the newest 100,000, peak RSS. PostgreSQL runs each of
  `--pg-paths` (`bulk`: unnest statements, pipelined; `rows`: the row path, read then write).
- `rederive`: `bench.rederive`'s phases on each backend at `--rederive-records`: the export
  stored (`load`), the shipped ruleset activated (every event derived from stored records,
  no CRM call) and derived in full again.
- `kpi`: `bench.kpi_load` at each `--opportunities` size (~10 events per opportunity): start
  to first answer, p95 per endpoint, server RSS.

A case that fails is a row saying so (with the last line of its error), not the end of the run.
PostgreSQL cases use BENCH_POSTGRES_URL (give it a database of its own); SQLite files go to
BENCH_TMP (default: the system temp dir). Every row carries the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._database import database_url, drop_schema

REDERIVE_SCHEMA = "bench_scale_rederive"


def _child(module: str, *args: str) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return {"failed": last[:200]}
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def raw(options: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for backend in options.backends.split(","):
        paths = options.pg_paths.split(",") if backend == "postgresql" else ["rows"]
        for size in (int(n) for n in options.activities.split(",")):
            for path in paths:
                print(f"… raw {backend} {path} {size:,}", file=sys.stderr, flush=True)
                case = {"part": "raw", "backend": backend, "path": path, "rows": size}
                rows.append(case | {"load_avg_1m_start": _load()}
                            | _child("bench._scale_raw", backend, str(size), path))  # fmt: skip
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def rederive(options: argparse.Namespace) -> list[dict[str, Any]]:
    from bench.mapping_accuracy import generate_export
    from bench.rederive import RECORDS_PER_OPPORTUNITY

    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        export = Path(tmp) / "export"
        opportunities = max(int(options.rederive_records / RECORDS_PER_OPPORTUNITY), 10)
        print(f"… rederive: generating {opportunities:,} opportunities", file=sys.stderr)
        generate_export(options.seed, "small", export, opportunities)
        for backend in options.backends.split(","):
            url = database_url(backend, Path(tmp) / "rederive.db", REDERIVE_SCHEMA)
            for phase in ("load", "activate", "full"):
                print(f"… rederive {backend} {phase}", file=sys.stderr, flush=True)
                start = {"part": "rederive", "backend": backend, "load_avg_1m_start": _load()}
                rows.append(start | _child("bench.rederive", phase, url, str(export)))
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
                if "failed" in rows[-1]:
                    break
            drop_schema(backend, REDERIVE_SCHEMA)
    return rows


def kpi(options: argparse.Namespace) -> list[dict[str, Any]]:
    from bench import kpi_load

    rows = []
    for backend in options.backends.split(","):
        for deals in (int(n) for n in options.opportunities.split(",")):
            print(f"… kpi {backend} {deals:,} opportunities", file=sys.stderr, flush=True)
            start = {"part": "kpi", "backend": backend, "load_avg_1m_start": _load()}
            args = ["--deals", str(deals), "--backends", backend, "--clients", "8",
                    "--seconds", "5", "--requests", "20"]  # fmt: skip
            try:
                measured = kpi_load.run(args)
            except (Exception, SystemExit) as error:  # a failed size is a row, not the end
                rows.append(start | {"deals": deals, "failed": str(error)[-200:]})
                continue
            rows += [start | row for row in measured]
    return rows


PARTS = {"raw": raw, "rederive": rederive, "kpi": kpi}


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--parts", default="raw,rederive,kpi")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--activities", default="1000000,10000000")
    parser.add_argument("--opportunities", default="100000,1000000")
    parser.add_argument("--pg-paths", default="bulk")
    parser.add_argument("--rederive-records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args(args)
    rows: list[dict[str, Any]] = []
    for part in options.parts.split(","):
        rows += PARTS[part](options)
    return rows
