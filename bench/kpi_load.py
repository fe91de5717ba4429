"""KPI API at scale against a real server: latency per endpoint, funnel throughput, memory.

    python -m bench kpi_load [--deals 100000] [--backends sqlite,postgresql] [--clients 32]
                             [--seconds 20] [--requests 40]

For each backend: writes the synthetic history of `bench/_kpi_history.py` (`--deals`
opportunities, ~10 events each) into a fresh database (a temp SQLite file, or a new schema in
BENCH_POSTGRES_URL, dropped afterwards), builds opportunity state with the state service,
creates a manager key, and starts `milestones serve` with its default settings in a child
process on a free loopback port. Then:

- `ready_s`: from the server's start until the first funnel answer (state load + model fit);
- per endpoint, sequentially from one client: the first answer (`first_ms`) and `--requests`
  more (`p50_ms`, `p95_ms`); `funnel (uncached filters)` asks each team, process, rep and
  a few periods once, so every request computes its answer;
- `funnel x N clients`: a load generator in another process (httpx, asyncio) keeps
  `--clients` requests in flight for `--seconds` and reports requests/s and latency;
  with the server's CPU time per request (what the figure would be without the generator
  and other work competing for the cores) and the machine's 1-minute load average;
- `server_rss_*_mb`: the server process's RSS, peak over the run (sampled every 100 ms) and
  at the end.

The history has no raw records, so one stands in for the CRM's clock (its last modification
is the history's end): the view's "now" is then the history's end, as with a synced sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._database import database_url, drop_schema

SCHEMA = "bench_kpi_load"
AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(url: str, deals: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.core.database import Database, upgrade
    from app.models import MilestoneEvent, RawRecord, StreamCursor
    from app.services.access.api_keys import create_key
    from bench._kpi_history import build

    database = Database(url)
    upgrade(database.engine)
    world = build(database, deals, as_of=AS_OF)
    with database.session() as session:
        session.add(
            RawRecord(
                connection_id=world["connection"],
                stream="Opportunity",
                external_id="006B00000000",
                modified_at=AS_OF,
                payload={"Id": "006B00000000"},
                payload_hash="-",
            )
        )
        session.add(
            StreamCursor(connection_id=world["connection"], stream="Opportunity", last_value=AS_OF)
        )
        world["events"] = session.scalar(select(func.count()).select_from(MilestoneEvent))
        _, world["key"] = create_key(session, "bench", "manager")
    database.dispose()
    return world


class _Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0.0
        self.last = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.last = self.process.memory_info().rss / 2**20
            except Exception:
                return
            self.peak = max(self.peak, self.last)
            time.sleep(0.1)


def _paths(world: dict[str, Any]) -> list[tuple[str, list[str]]]:
    team, rep = world["team"], world["rep"]
    return [
        ("funnel", ["/api/v1/funnel"]),
        (f"funnel?team={team}", [f"/api/v1/funnel?team={team}"]),
        ("movement", ["/api/v1/movement"]),
        ("velocity", ["/api/v1/velocity"]),
        ("stalled", ["/api/v1/stalled"]),
        ("forecast?months=3", ["/api/v1/forecast?months=3"]),
        ("opportunities?limit=100", ["/api/v1/opportunities?limit=100"]),
        ("opportunities/{id}", ["/api/v1/opportunities/5"]),
        (f"reps/{rep}/scorecard", [f"/api/v1/reps/{rep}/scorecard"]),
    ]


def _uncached(world: dict[str, Any]) -> dict[str, list[str]]:
    from bench._kpi_history import PROCESSES, REPS, TEAMS

    filters = [f"team={t}" for t in TEAMS] + [f"process={p[0]}" for p in PROCESSES]
    filters += [f"owner=005R{i:03d}" for i in range(0, REPS, 4)]
    filters += [f"start=2025-0{m}-01&end=2025-0{m + 1}-01" for m in range(1, 6)]
    return {
        name: [f"/api/v1/{name}?{f}" for f in filters]
        for name in ("funnel", "velocity", "movement", "forecast", "opportunities")
        if name not in ("forecast",)
    } | {"forecast": [f"/api/v1/forecast?{f}" for f in filters if "start" not in f]}


def _measure(base: str, key: str, world: dict[str, Any], requests: int) -> list[dict[str, Any]]:
    import httpx

    rows = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for label, paths in _paths(world):
            started = time.perf_counter()
            first = client.get(paths[0])
            first_ms = (time.perf_counter() - started) * 1000
            assert first.status_code == 200, (label, first.text[:300])
            times = []
            for i in range(requests):
                started = time.perf_counter()
                client.get(paths[i % len(paths)]).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            rows.append(
                {
                    "case": label,
                    "first_ms": round(first_ms, 1),
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(_percentile(times, 0.95), 2),
                }
            )
        for name, paths in _uncached(world).items():
            times = []
            for path in paths:
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            rows.append(
                {
                    "case": f"{name} (uncached filters, n={len(paths)})",
                    "first_ms": round(max(times), 1),
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(_percentile(times, 0.95), 2),
                }
            )
    return rows


async def _load(base: str, key: str, path: str, clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and len(latencies) < 1_000_000:
                started = time.perf_counter()
                response = await client.get(path)
                if response.status_code != 200:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(_percentile(latencies, 0.95), 2),
    }


def run_backend(backend: str, options: argparse.Namespace) -> list[dict[str, Any]]:
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = database_url(backend, workdir / "kpi.db", SCHEMA)
        try:
            started = time.perf_counter()
            world = _prepare(url, options.deals)
            print(f"… {backend}: history ready in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
            port = _free_port()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")},
                "DATABASE_URL": url,
                "MILESTONES_DATA_DIR": str(workdir / "data"),
                "MILESTONES_PORT": str(port),
            }
            log = workdir / "server.log"
            server = subprocess.Popen(
                [sys.executable, "-m", "app.cli.main", "serve"],
                cwd=ROOT,
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            sampler = _Sampler(server.pid)
            sampler.start()
            base = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            try:
                headers = {"Authorization": f"Bearer {world['key']}"}
                while True:
                    try:
                        if httpx.get(
                            f"{base}/api/v1/funnel", headers=headers, timeout=120
                        ).is_success:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None or time.perf_counter() - started > 600:
                        tail = log.read_text(errors="replace").splitlines()[-30:]
                        raise SystemExit(
                            f"{backend}: the server did not answer (exit code "
                            f"{server.poll()}); the end of its output:\n" + "\n".join(tail)
                        )
                    time.sleep(0.2)
                ready = time.perf_counter() - started
                rows = _measure(base, world["key"], world, options.requests)
                cpu = sampler.process.cpu_times()
                child = subprocess.run(
                    [
                        sys.executable, "-m", "bench.kpi_load", "--generate", base,
                        world["key"], "/api/v1/funnel", str(options.clients), str(options.seconds),
                    ],
                    cwd=ROOT, capture_output=True, text=True, check=True,
                )  # fmt: skip
                load = json.loads(child.stdout.strip().splitlines()[-1])
                after = sampler.process.cpu_times()
                busy = (after.user - cpu.user) + (after.system - cpu.system)
                load["server_cpu_ms_per_request"] = round(busy * 1000 / load["requests"], 2)
                load["load_average_1m"] = round(os.getloadavg()[0], 1)
            finally:
                sampler.stopped.set()
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
        finally:
            drop_schema(backend, SCHEMA)
    common = {"backend": backend, "deals": world["deals"], "events": world["events"]}
    out = [{**common, **row} for row in rows]
    out.append(
        {
            **common,
            "case": f"funnel x {options.clients} clients, {options.seconds:g} s",
            "first_ms": None,
            "p50_ms": load["p50_ms"],
            "p95_ms": load["p95_ms"],
            "requests_per_s": load["requests_per_s"],
            "requests": load["requests"],
            "errors": load["errors"],
            "server_cpu_ms_per_request": load["server_cpu_ms_per_request"],
            "load_average_1m": load["load_average_1m"],
        }
    )
    for row in out:
        row["ready_s"] = round(ready, 1)
        row["server_rss_peak_mb"] = round(sampler.peak, 1)
        row["server_rss_end_mb"] = round(sampler.last, 1)
    return out


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench kpi_load")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=40)
    options = parser.parse_args(args)
    rows: list[dict[str, Any]] = []
    for backend in options.backends.split(","):
        rows.extend(run_backend(backend, options))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        base_arg, key_arg, path_arg, clients_arg, seconds_arg = sys.argv[2:7]
        result = asyncio.run(
            _load(base_arg, key_arg, path_arg, int(clients_arg), float(seconds_arg))
        )
        print(json.dumps(result))
