"""Generating a sales history: wall time and peak memory per size.

    python -m bench generator [--opportunities 10000,100000] [--workers 2] [--seed 1]

Each case runs in a fresh process writing to a temp directory that is removed afterwards, so
peak RSS belongs to that case alone. With two workers a child process renders the second half
of the deals; `peak_rss_mb` is the larger of the two processes' peaks,
`cpu_seconds` their sum, and the two halves' CPU seconds are shown apart: on an idle machine the
wall time is about the larger of the two (on a busy one it grows, CPU time much less). Memory
should stay flat as the opportunity count grows (records are streamed to disk); the target is
100k opportunities in at most 60 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ACTIVITY_OBJECTS = ("Task", "Event", "EmailMessage")
ENGAGEMENTS = ("emails", "meetings", "calls", "notes", "tasks")


def run_case(opportunities: int, workers: int, seed: int) -> dict[str, Any]:
    from sandbox.history import build_params, generate

    workdir = Path(tempfile.mkdtemp(prefix="bench-generator-"))
    try:
        params = build_params(seed=seed, opportunities=opportunities)
        started = time.perf_counter()
        summary = generate(params, workdir / "out", workers=workers)
        elapsed = time.perf_counter() - started
        size_bytes = sum(p.stat().st_size for p in workdir.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    counts = summary["counts"]
    rows = sum(counts["salesforce"].values()) + sum(counts["hubspot"].values())
    own = resource.getrusage(resource.RUSAGE_SELF)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + child.ru_utime + child.ru_stime
    return {
        "opportunities": opportunities,
        "workers": workers,
        "seconds": round(elapsed, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_first_half_s": round(own.ru_utime + own.ru_stime, 1),
        "cpu_second_half_s": round(child.ru_utime + child.ru_stime, 1),
        "opportunities_per_s": round(opportunities / elapsed),
        "salesforce_activities": sum(counts["salesforce"][name] for name in ACTIVITY_OBJECTS),
        "hubspot_engagements": sum(counts["hubspot"][name] for name in ENGAGEMENTS),
        "rows_written": rows,
        "rows_per_s": round(rows / elapsed),
        "disk_mb": round(size_bytes / 2**20),
        "peak_rss_mb": round(max(own.ru_maxrss, child.ru_maxrss) / 1024, 1),
    }


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench generator")
    parser.add_argument("--opportunities", default="10000,100000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(args)
    results = []
    for count in (int(n) for n in options.opportunities.split(",")):
        print(f"… {count:,} opportunities", file=sys.stderr, flush=True)
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.generator",
                str(count),
                str(options.workers),
                str(options.seed),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"case {count} failed:\n{child.stderr}")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    count_arg, workers_arg, seed_arg = sys.argv[1:4]
    print(json.dumps(run_case(int(count_arg), int(workers_arg), int(seed_arg))))
