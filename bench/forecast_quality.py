"""Forecast quality on generated sales histories: the backtest of the milestone forecast against
the CRM's weighted pipeline, the milestone-free model and a naive run-rate, for every seed and
market-change scenario, written cell by cell to BENCHMARKS.md with pass or fail per target.

    python -m bench forecast_quality [--seeds 1,2,3,4,5] [--scenarios all] [--opportunities 4000]
                                     [--crm salesforce] [--no-write]

Per seed and scenario: generates the history (`--scenario`, docs/sales-history.md), loads its
export into a fresh SQLite raw layer (the path of `bench/mapping_accuracy.py`, no CRM call),
activates the shipped example ruleset (which derives events and builds opportunity state),
then runs `run_backtest` at every month start of the history, horizons 1 and 3, with the data
clock at the export's `now`: at each origin the model sees only what was known strictly
before it, and an origin with too little history before it is skipped (it says so).

Targets, for the total (deals open at the origin plus deals created later), horizons 1 and 3,
single month and cumulative:
- each cell: WAPE at least 30 % below the CRM's weighted pipeline, and P10-P90 coverage
  between 0.75 and 0.85;
- on average over the seeds of a scenario: WAPE at least 10 % below the milestone-free model
  and 15 % below the naive run-rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench._sections import replace_between
from bench.mapping_accuracy import EXAMPLES, ROOT, generate_export, load_export

SCENARIOS = (
    "steady",
    "lead_flow_stops",
    "lead_flow_doubles",
    "conversion_drop",
    "velocity_halves",
    "strong_seasonality",
)
HORIZONS = (1, 3)
VS_PIPELINE, VS_FREE, VS_NAIVE = 0.30, 0.10, 0.15
COVERAGE = (0.75, 0.85)
START, END = "<!-- forecast_quality:start -->", "<!-- forecast_quality:end -->"


def _backtest(seed: int, scenario: str, options: argparse.Namespace, tmp: Path) -> Any:
    from app.core.database import Database, upgrade
    from app.services.kpis.backtest import run_backtest
    from app.services.kpis.store import KpiStore
    from app.services.mapping.activation import activate_ruleset

    export = tmp / f"export-{seed}-{scenario}"
    generate_export(seed, "small", export, options.opportunities, scenario)
    manifest = json.loads((export / "manifest.json").read_text())
    database = Database(f"sqlite:///{tmp / f'{seed}-{scenario}.db'}")
    try:
        upgrade(database.engine)
        load_export(database, export, options.crm)
        path = EXAMPLES / f"{options.crm}.yaml"
        activate_ruleset(database, path.read_text(), str(path))
        now = datetime.fromisoformat(manifest["now"].replace("Z", "+00:00"))
        store = KpiStore(database, as_of_setting=now)  # the data clock: the export's now
        first = date.fromisoformat(manifest["history_start"][:10])
        return run_backtest(database, store=store, start=first, horizons=max(HORIZONS))
    finally:
        database.dispose()


def _ratio(mine: float | None, other: float | None) -> float | None:
    if mine is None or other is None or other == 0:
        return None
    return round(1.0 - mine / other, 3)


def _rows(seed: int, scenario: str, result: Any, seconds: float) -> list[dict[str, Any]]:
    rows = []
    for cell in getattr(result, "cells", []):
        if cell.part != "total" or cell.horizon_months not in HORIZONS:
            continue
        ours, free = cell.milestones, cell.milestone_free
        pipeline, naive = cell.weighted_pipeline, cell.naive_run_rate
        vs_pipeline = _ratio(ours.wape, pipeline.wape if pipeline else None)
        cover = ours.coverage_p10_p90
        rows.append(
            {
                "scenario": scenario,
                "seed": seed,
                "horizon": cell.horizon_months,
                "window": "cumulative" if cell.cumulative else "month",
                "origins": cell.origins,
                "skipped": len(result.skipped),
                "wape": ours.wape,
                "wape_milestone_free": free.wape,
                "wape_weighted_pipeline": pipeline.wape if pipeline else None,
                "wape_naive_run_rate": naive.wape if naive else None,
                "bias": ours.bias,
                "coverage": cover,
                "pinball": ours.pinball,
                "vs_pipeline": vs_pipeline,
                "pass_vs_pipeline": vs_pipeline is not None and vs_pipeline >= VS_PIPELINE,
                "pass_coverage": cover is not None and COVERAGE[0] <= cover <= COVERAGE[1],
                "backtest_s": round(seconds, 1),
            }
        )
    if not rows:
        note = getattr(result, "note", "no cell")
        rows.append({"scenario": scenario, "seed": seed, "error": note})
    return rows


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if len(present) == len(values) and present else None


def averages(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scenario, horizon and window: the mean WAPE of each method over the seeds."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        if "error" not in row:
            groups.setdefault((row["scenario"], row["horizon"], row["window"]), []).append(row)
    out = []
    for (scenario, horizon, window), members in groups.items():
        ours = _mean([r["wape"] for r in members])
        free = _mean([r["wape_milestone_free"] for r in members])
        naive = _mean([r["wape_naive_run_rate"] for r in members])
        vs_free, vs_naive = _ratio(ours, free), _ratio(ours, naive)
        out.append(
            {
                "scenario": scenario,
                "horizon": horizon,
                "window": window,
                "seeds": len(members),
                "wape": None if ours is None else round(ours, 3),
                "wape_milestone_free": None if free is None else round(free, 3),
                "wape_naive_run_rate": None if naive is None else round(naive, 3),
                "vs_milestone_free": vs_free,
                "vs_naive_run_rate": vs_naive,
                "pass_vs_milestone_free": vs_free is not None and vs_free >= VS_FREE,
                "pass_vs_naive_run_rate": vs_naive is not None and vs_naive >= VS_NAIVE,
            }
        )
    return out


def _f(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if percent:
        return f"{value * 100:.0f} %"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _mark(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def section(
    rows: Sequence[dict[str, Any]],
    means: Sequence[dict[str, Any]],
    meta: dict[str, Any],
    missing: Sequence[str] = (),
) -> str:
    """The BENCHMARKS.md section: every cell, pass or fail, as measured; runs not finished
    (yet) named as such."""
    cells = [r for r in rows if "error" not in r]
    errors = [r for r in rows if "error" in r]
    passed = sum(r["pass_vs_pipeline"] for r in cells) + sum(r["pass_coverage"] for r in cells)
    passed += sum(m["pass_vs_milestone_free"] + m["pass_vs_naive_run_rate"] for m in means)
    checks = 2 * len(cells) + 2 * len(means)
    lines = [
        START,
        f"**Forecast quality** (`{meta['command']}`; {meta['date']}; commit "
        f"{meta.get('commit', '?')}; {meta['machine']}; "
        f"1-minute load average {meta['load_start']} at the start, {meta['load_end']} at the "
        f"end; {meta['minutes']} min). Salesforce export of each generated history (4,000 "
        "deals by default), mapped by the shipped example rules; the backtest at every month "
        "start of the three years, each origin seeing only what was known strictly before it "
        "(origins with too little history before them are skipped, column *skipped*); the "
        "total won (deals open at the origin and deals created later). WAPE: lower is better. "
        "Targets: WAPE at least 30 % below the weighted pipeline and P10-P90 coverage in "
        "0.75-0.85 in every cell; on average over the seeds, WAPE at least 10 % below the "
        "milestone-free model and 15 % below the naive run-rate.",
        "",
        f"**{passed} of {checks} target checks pass**"
        + (f"; {len(errors)} runs gave no cell" if errors else "")
        + (
            f"; **partial: {len(missing)} runs not finished** ({', '.join(missing)}), their "
            "cells are not in the tables"
            if missing
            else ""
        )
        + ".",
        "",
        "| scenario | seed | horizon | origins | skipped | WAPE milestones | milestone-free "
        "| weighted pipeline | run-rate | bias | P10-P90 coverage | pinball | lower than "
        "pipeline | ≥ 30 % lower | coverage 0.75-0.85 |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in cells:
        horizon = f"{r['horizon']} {'month' if r['window'] == 'month' else 'cumulative'}"
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {horizon} | {r['origins']} | {r['skipped']} "
            f"| {_f(r['wape'])} | {_f(r['wape_milestone_free'])} "
            f"| {_f(r['wape_weighted_pipeline'])} | {_f(r['wape_naive_run_rate'])} "
            f"| {_f(r['bias'])} | {_f(r['coverage'])} | {_f(r['pinball'])} "
            f"| {_f(r['vs_pipeline'], True)} | {_mark(r['pass_vs_pipeline'])} "
            f"| {_mark(r['pass_coverage'])} |"
        )
    for r in errors:
        lines.append(f"| {r['scenario']} | {r['seed']} | **FAIL**: {r['error']} |")
    lines += [
        "",
        "Averages over the seeds (mean WAPE):",
        "",
        "| scenario | horizon | seeds | milestones | milestone-free | run-rate "
        "| lower than milestone-free | ≥ 10 % | lower than run-rate | ≥ 15 % |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for m in means:
        horizon = f"{m['horizon']} {'month' if m['window'] == 'month' else 'cumulative'}"
        lines.append(
            f"| {m['scenario']} | {horizon} | {m['seeds']} | {_f(m['wape'])} "
            f"| {_f(m['wape_milestone_free'])} | {_f(m['wape_naive_run_rate'])} "
            f"| {_f(m['vs_milestone_free'], True)} | {_mark(m['pass_vs_milestone_free'])} "
            f"| {_f(m['vs_naive_run_rate'], True)} | {_mark(m['pass_vs_naive_run_rate'])} |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace the section between the markers (added after the heading if missing)."""

    def missing(document: str, text: str) -> str:
        heading = "## kpi_load and forecast_quality"
        head, tail = document.split(heading, 1)
        first_line, body = tail.split("\n", 1)
        return head + heading + first_line + "\n\n" + text + body

    replace_between(path, START, END, text, missing)


RUNS = ROOT / "bench" / "results" / "forecast_quality.runs.json"
"""Every finished (seed, scenario) run's rows, written as each one ends: a long grid on a busy
machine is recorded as far as it got, and `--resume` goes on from there."""


def _commit() -> str:
    import subprocess

    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return found.stdout.strip() or "unknown"


def _meta(args: list[str], when: datetime, load_start: float, minutes: float) -> dict[str, Any]:
    from bench.__main__ import machine

    box = machine()
    return {
        "command": " ".join(["python -m bench forecast_quality", *args]),
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{box['cores']} cores, {box['cpu']}, Python {platform.python_version()}",
        "load_start": load_start,
        "load_end": round(os.getloadavg()[0], 2),
        "minutes": minutes,
    }


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench forecast_quality")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--scenarios", default="all")
    parser.add_argument("--opportunities", type=int, default=4000)
    parser.add_argument("--crm", default="salesforce")
    parser.add_argument("--no-write", action="store_true", help="Leave BENCHMARKS.md alone.")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Keep the runs already in bench/results/forecast_quality.runs.json made at this "
        "commit, and run only the others.",
    )
    options = parser.parse_args(args)
    seeds = [int(s) for s in options.seeds.split(",")]
    scenarios = SCENARIOS if options.scenarios == "all" else tuple(options.scenarios.split(","))
    load_start = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    when = datetime.now(UTC)
    commit = _commit()
    done: dict[str, Any] = {"commit": commit, "runs": {}}
    if options.resume and RUNS.exists():
        previous = json.loads(RUNS.read_text())
        if previous.get("commit") == commit:
            done = previous
    grid = [(seed, scenario) for seed in seeds for scenario in scenarios]  # every scenario early
    with tempfile.TemporaryDirectory() as tmp:
        for seed, scenario in grid:
            name = f"{scenario}/{seed}"
            if name in done["runs"]:
                continue
            print(f"… {scenario}, seed {seed}", file=sys.stderr, flush=True)
            begun = time.perf_counter()
            result = _backtest(seed, scenario, options, Path(tmp))
            done["runs"][name] = _rows(seed, scenario, result, time.perf_counter() - begun)
            RUNS.parent.mkdir(parents=True, exist_ok=True)
            RUNS.write_text(json.dumps(done, indent=1, default=str))
            if not options.no_write:
                minutes = round((time.perf_counter() - started) / 60, 1)
                rows = _ordered(done, grid)
                missing = [f"{sc}/{sd}" for sd, sc in grid if f"{sc}/{sd}" not in done["runs"]]
                meta = {**_meta(args, when, load_start, minutes), "commit": commit}
                write_section(section(rows, averages(rows), meta, missing))
    rows = _ordered(done, grid)
    means = averages(rows)
    return rows + [{"average": True, **m} for m in means]


def _ordered(done: dict[str, Any], grid: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """The finished runs' rows, scenario by scenario, seed by seed."""
    order = sorted(grid, key=lambda g: (SCENARIOS.index(g[1]) if g[1] in SCENARIOS else 99, g[0]))
    rows: list[dict[str, Any]] = []
    for seed, scenario in order:
        rows.extend(done["runs"].get(f"{scenario}/{seed}", []))
    return rows
