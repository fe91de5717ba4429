"""Storing raw records: upsert throughput and peak memory on SQLite and PostgreSQL.

    python -m bench raw_upsert [--rows 100000,1000000] [--backends sqlite,postgresql]

Each case runs in a fresh process against a fresh database (a temp SQLite file, or a new
PostgreSQL schema in BENCH_POSTGRES_URL), so peak RSS belongs to that case alone. Records are
shaped like Salesforce Tasks and committed in batches, as a sync commits its pages.
`store_rows_per_s` times the upserts and commits alone; `with_input_rows_per_s` also counts
building the input records in Python.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._database import database_url, migrated_with_connection

SCHEMA = "bench_raw_upsert"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
TASK_URL = "/services/data/v59.0/sobjects/Task/"


def task_records(count: int, start: int = 0) -> Iterator[Any]:
    """Records `start` to `count` (exclusive) of one deterministic series."""
    from connectors.core import Record

    for i in range(start, count):
        record_id = f"00T5g{i:013d}"
        modified = T0 + timedelta(seconds=i * 7)
        stamp = modified.isoformat(timespec="milliseconds")
        yield Record(
            record_id,
            modified,
            {
                "attributes": {
                    "type": "Task",
                    "url": f"/services/data/v59.0/sobjects/Task/{record_id}",
                },
                "Id": record_id,
                "Subject": f"Follow-up call {i % 97}",
                "TaskSubtype": ("Email", "Call", "Task")[i % 3],
                "Status": "Completed",
                "Priority": "Normal",
                "WhoId": f"0035g{i % 50_000:013d}",
                "WhatId": f"0065g{i % 20_000:013d}",
                "OwnerId": f"0055g{i % 120:013d}",
                "ActivityDate": stamp[:10],
                "CallType": "Outbound" if i % 3 == 1 else None,
                "CallDurationInSeconds": (i % 900) if i % 3 == 1 else None,
                "Description": "Discussed next steps and the evaluation timeline.",
                "IsDeleted": False,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            },
        )


def run_case(backend: str, rows: int, batch: int) -> dict[str, Any]:
    from app.services.sync.raw_records import RawRecordWriter

    with tempfile.TemporaryDirectory() as workdir:
        url = database_url(backend, Path(workdir) / "bench.db", SCHEMA)
        database, connection_id = migrated_with_connection(url)
        records = task_records(rows)
        store_seconds = 0.0
        started = time.perf_counter()
        written = 0
        while page := [record for _, record in zip(range(batch), records, strict=False)]:
            page_started = time.perf_counter()
            with database.engine.begin() as connection:
                writer = RawRecordWriter(connection, connection_id, "Task", batch_size=batch)
                written += writer.upsert(page).written
            store_seconds += time.perf_counter() - page_started
        elapsed = time.perf_counter() - started
        database.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "backend": backend,
        "rows": rows,
        "written": written,
        "store_s": round(store_seconds, 2),
        "store_rows_per_s": round(rows / store_seconds),
        "with_input_rows_per_s": round(rows / elapsed),
        "peak_rss_mb": round(peak_kib / 1024, 1),
    }


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench raw_upsert")
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=5000)
    options = parser.parse_args(args)
    results = []
    for backend in options.backends.split(","):
        for rows in (int(n) for n in options.rows.split(",")):
            print(f"… {backend}, {rows:,} rows", file=sys.stderr, flush=True)
            child = subprocess.run(
                [sys.executable, "-m", "bench.raw_upsert", backend, str(rows), str(options.batch)],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise SystemExit(f"case {backend}/{rows} failed:\n{child.stderr}")
            results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    backend_arg, rows_arg, batch_arg = sys.argv[1:4]
    print(json.dumps(run_case(backend_arg, int(rows_arg), int(batch_arg))))
