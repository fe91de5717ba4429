"""One raw-upsert case of `bench scale`, run in a child process of its own.

    python -m bench._scale_raw BACKEND ROWS PATH   # PATH: bulk | rows (the row path)

Streams `ROWS` Salesforce-Task-shaped records (bench.raw_upsert's) into a fresh raw layer,
5,000 per transaction as a sync commits its pages, never holding more than one page. The
rate is reported per tenth of the load, so a table that slows as it grows shows it. Beside
the wall clock (`store`: the upserts and commits alone; `with input`: also building the
records in Python), the CPU spent by this process and by its PostgreSQL backend is read from
/proc: on a machine shared with other work, rows per CPU-second is what stays comparable.
After the load, the newest 100,000 records are stored again, unchanged (the re-read of a
lookback overlap): the cost of the unchanged-record check. Each tenth is also appended to
`bench_scale_raw.progress` in the temp dir as it finishes, so a long case stopped early
still says how far it got and how fast.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from bench._database import database_url, drop_schema, migrated_with_connection
from bench.raw_upsert import task_records

SCHEMA = "bench_scale_raw"
PAGE = 5000
REREAD = 100_000
PROGRESS = Path(tempfile.gettempdir()) / "bench_scale_raw.progress"
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process on this machine (a PostgreSQL backend, here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


class _Meter:
    """Wall time, this process's CPU and its database backends' CPU, between two reads."""

    def __init__(self) -> None:
        self.backends: dict[int, float] = {}
        self.store_seconds = 0.0  # the upserts and commits alone, not building the records

    def see(self, pid: int | None) -> None:
        if pid is not None and pid not in self.backends:
            self.backends[pid] = _cpu_seconds(pid)

    def server_cpu(self) -> float:
        return sum(_cpu_seconds(pid) - start for pid, start in self.backends.items())


def _store(database: Any, connection_id: int, records: Any, path: str, meter: _Meter) -> int:
    from app.services.sync.raw_records import RawRecordWriter

    written = 0
    while page := list(islice(records, PAGE)):
        started = time.perf_counter()
        with database.engine.begin() as connection:
            info = getattr(connection.connection.driver_connection, "info", None)
            meter.see(getattr(info, "backend_pid", None))
            writer = RawRecordWriter(
                connection, connection_id, "Task", batch_size=PAGE, bulk=path != "rows"
            )
            written += writer.upsert(page).written
        meter.store_seconds += time.perf_counter() - started
    return written


def run_case(backend: str, rows: int, path: str) -> dict[str, Any]:

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as workdir:
        url = database_url(backend, Path(workdir) / "bench.db", SCHEMA)
        database, connection_id = migrated_with_connection(url)
        try:
            meter = _Meter()
            records = task_records(rows)
            tenth = max(rows // 10, PAGE)
            segments: list[int] = []
            written = 0
            started, cpu = time.perf_counter(), time.process_time()
            while written < rows:
                segment_started = meter.store_seconds
                written += _store(database, connection_id, islice(records, tenth), path, meter)
                segments.append(round(tenth / (meter.store_seconds - segment_started)))
                with PROGRESS.open("a") as progress:
                    progress.write(
                        f"{time.strftime('%H:%M:%S')} {backend} {path} {written:,}/{rows:,}: "
                        f"{segments[-1]} rows/s, load {os.getloadavg()[0]:.1f}, "
                        f"client CPU {time.process_time() - cpu:.0f} s, "
                        f"server CPU {meter.server_cpu():.0f} s\n"
                    )
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            server_cpu, store_seconds = meter.server_cpu(), meter.store_seconds
            reread = min(REREAD, rows)
            again = task_records(rows, start=rows - reread)
            rewritten = _store(database, connection_id, again, path, meter)
            reread_seconds = meter.store_seconds - store_seconds
        finally:
            database.dispose()
            drop_schema(backend, SCHEMA)
    return {
        "backend": backend,
        "path": path,
        "rows": rows,
        "written": written,
        "store_s": round(store_seconds, 1),
        "store_rows_per_s": round(rows / store_seconds),
        "with_input_rows_per_s": round(rows / seconds),
        "store_rows_per_s_by_tenth": segments,
        "client_cpu_s": round(cpu, 1),
        "server_cpu_s": round(server_cpu, 1),
        "rows_per_cpu_s": round(rows / (cpu + server_cpu)),  # input building included
        "unchanged_reread_rows_per_s": round(reread / reread_seconds),
        "unchanged_rewritten": rewritten,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    backend_arg, rows_arg, path_arg = sys.argv[1:4]
    print(json.dumps(run_case(backend_arg, int(rows_arg), path_arg)))
