"""Benchmark runner: `python -m bench NAME [options]`.

Each benchmark is a module `bench/<name>.py` with `run(args: list[str]) -> list[dict]`, taking
its own options and returning one row per measured case. The runner prints the rows as a table
and writes them, with the date and the machine, to `bench/results/<name>.json`.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import bench

RESULTS = Path(__file__).resolve().parent / "results"


def available() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules(bench.__path__)
        if not info.name.startswith("_") and info.name != "machine"
    )


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def print_table(name: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"bench {name}")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    Console(width=160).print(table)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME [options]\nbenchmarks: " + ", ".join(available()))
        return 0 if argv else 2
    name, args = argv[0], argv[1:]
    if name not in available():
        print(f"error: no benchmark {name!r}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    started = datetime.now(UTC)
    rows: list[dict[str, Any]] = module.run(args)
    print_table(name, rows)
    RESULTS.mkdir(exist_ok=True)
    document = {
        "benchmark": name,
        "command": " ".join(["python -m bench", *argv]),
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "rows": rows,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
