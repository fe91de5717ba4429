"""Full re-derivation: every milestone event rebuilt from the stored raw records, on SQLite.

    python -m bench rederive [--records 1000000] [--seed 7] [--export DIR]

A generated history sized to about `--records` Salesforce records is stored in the raw layer of
a fresh SQLite file (as the connectors store records; not timed as part of the derivation).
Then, each in a fresh process so its peak RSS is its own:

- `activate`: the shipped Salesforce example is validated, stored and activated: owners and
  opportunities projected, every stored record some rule could match read and evaluated (the
  others are skipped by the database, `records` counts those read), events and candidates
  written, versions swapped, opportunity states rebuilt. This is the "re-derive on
  activation" figure. `cpu_s` is this process's CPU time (SQLite runs in-process), beside the
  wall time, for busy machines.
- `full again`: the same version derived in full once more (every record read and diffed
  against its stored events; nothing changes).
- `incremental`: 1% of the activity records re-stored with a later time, then the run after
  a sync: only what changed (and what depends on it) is derived again. Timed without the
  run's 60-second look-back, which here would re-read the whole load of a minute before.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

RECORDS_PER_OPPORTUNITY = 27.3  # Salesforce records per opportunity in the generated history


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load(url: str, export: Path) -> dict[str, Any]:
    from app.services.sync.raw_records import RawRecordWriter
    from bench._database import migrated_with_connection
    from bench.mapping_accuracy import salesforce_records
    from connectors.core import Record

    database, connection_id = migrated_with_connection(url)
    started = time.perf_counter()
    pending: dict[str, list[Any]] = defaultdict(list)
    total = 0
    with database.engine.begin() as connection:
        for stream, record_id, modified, deleted, payload in salesforce_records(export):
            pending[stream].append(Record(record_id, modified, payload, deleted))
            if len(pending[stream]) >= 5000:
                RawRecordWriter(connection, connection_id, stream).upsert(pending.pop(stream))
            total += 1
        for stream, records in pending.items():
            RawRecordWriter(connection, connection_id, stream).upsert(records)
    seconds = time.perf_counter() - started
    database.dispose()
    return {
        "phase": "load",
        "records": total,
        "seconds": round(seconds, 1),
        "peak_rss_mb": _peak_mb(),
    }


def activate(url: str) -> dict[str, Any]:
    from app.core.database import Database
    from app.services.mapping.activation import activate_ruleset

    database = Database(url)
    path = Path(__file__).resolve().parent.parent / "mappings" / "examples" / "salesforce.yaml"
    started, cpu = time.perf_counter(), time.process_time()
    result = activate_ruleset(database, path.read_text(), str(path))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    (run,) = result.runs
    database.dispose()
    return {
        "phase": "activate",
        "records": run.records_read,
        "events": run.events_added,
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "records_per_s": round(run.records_read / seconds),
        "peak_rss_mb": _peak_mb(),
    }


def full_again(url: str) -> dict[str, Any]:
    from app.core.database import Database
    from app.services.mapping.runs import derive_active

    database = Database(url)
    started, cpu = time.perf_counter(), time.process_time()
    (run,) = derive_active(database, full=True)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    database.dispose()
    return {
        "phase": "full again",
        "records": run.records_read,
        "events": run.events_added - run.events_removed,
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "records_per_s": round(run.records_read / seconds),
        "peak_rss_mb": _peak_mb(),
    }


def _touch_one_percent(database: Any) -> None:
    """Re-store every hundredth activity record as a newer version (a neutral field changed)."""
    from sqlalchemy import select

    from app.models import RawRecord
    from app.services.sync.raw_records import RawRecordWriter
    from connectors.core import Record

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
    with database.engine.begin() as connection:
        rows = connection.execute(
            select(
                RawRecord.stream, RawRecord.external_id, RawRecord.modified_at, RawRecord.payload
            )
            .where(
                RawRecord.stream.in_(["EmailMessage", "Task", "Event"]),
                RawRecord.id % 100 == 0,
            )
            .order_by(RawRecord.id)
        ).all()
        by_stream: dict[str, list[Any]] = defaultdict(list)
        for stream, external_id, modified, payload in rows:
            payload = {**payload, "SystemModstamp": stamp, "Bench__c": time.time()}
            by_stream[stream].append(Record(external_id, modified + timedelta(days=400), payload))
        for stream, records in by_stream.items():
            RawRecordWriter(connection, 1, stream).upsert(records)


def incremental(url: str) -> dict[str, Any]:
    """Two runs after two 1% changes: the first builds the entity index (a fresh process),
    the second finds it cached, as a long-running worker does."""
    from app.core.database import Database
    from app.services.mapping.runs import derive_changed

    database = Database(url)
    result: dict[str, Any] = {"phase": "incremental (1% changed)"}
    for label in ("cold", "warm"):
        _touch_one_percent(database)
        started = time.perf_counter()
        run = derive_changed(database, 1, 1, lookback=timedelta(0))
        seconds = time.perf_counter() - started
        result[f"{label}_records"] = run.records_read
        result[f"{label}_seconds"] = round(seconds, 2)
    database.dispose()
    result["records"] = result["warm_records"]
    result["seconds"] = result["warm_seconds"]
    result["records_per_s"] = round(result["warm_records"] / result["warm_seconds"])
    result["peak_rss_mb"] = _peak_mb()
    return result


PHASES = {"activate": activate, "full": full_again, "incremental": incremental}


def _child(*args: str) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, "-m", "bench.rederive", *args], capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{child.stderr}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench rederive")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--export", type=Path, default=None)
    options = parser.parse_args(args)
    from bench.mapping_accuracy import generate_export

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        export = options.export
        if export is None:
            export = Path(tmp) / "export"
            opportunities = max(int(options.records / RECORDS_PER_OPPORTUNITY), 10)
            print(f"… generating {opportunities:,} opportunities", file=sys.stderr, flush=True)
            generate_export(options.seed, "small", export, opportunities)
        url = f"sqlite:///{Path(tmp) / 'rederive.db'}"
        for phase in ("load", "activate", "full", "incremental"):
            print(f"… {phase}", file=sys.stderr, flush=True)
            rows.append(_child(phase, url, str(export)))
            print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    return rows


if __name__ == "__main__":
    phase, url_arg, export_arg = sys.argv[1:4]
    if phase == "load":
        print(json.dumps(load(url_arg, Path(export_arg))))
    else:
        print(json.dumps(PHASES[phase](url_arg)))
