"""Process health (drift) against the generator's market changes, over seeds.

    python -m bench health [--seeds 1,2,3,4,5] [--scenarios all|steady,conversion_drop,...]
                           [--opportunities 8000] [--no-write]

Per seed and scenario: a 480-day history whose market changes at its middle (2023-12-31) is
generated, loaded into a fresh SQLite raw layer, activated with the shipped Salesforce rules,
and asked for drift as of 2024-03-04 (nine weeks after the change). "Since" must be within 28
days of the change for every flag a scenario expects. What each scenario expects, and why:

- `steady`: nothing flagged.
- `conversion_drop` (reaching proposal requested 40 % less likely): a conversion drop into
  `proposal_requested`, and every flag on a step into it.
- `velocity_halves` (every gap between milestones twice as long): days to next up on some
  step, and no other kind of flag: every step's gap doubled, so any step is right, but fewer
  deals converting *within the horizon* is the slowdown, not a conversion change.
- `lead_flow_stops` / `lead_flow_doubles`: new deals a week (metric `created`) down / up, in
  at least one process, and no milestone flag: the inflow changed, not how deals move.
- `strong_seasonality` (monthly inflow weights swing four times as far from 1): no milestone
  flag; new deals may be flagged, but only up. In the weeks read (January and February) the
  new weights are 1.2 and 1.0 against 1.05 and 1.0 before: the inflow is truly a little higher
  than it would have been, while the baseline half-year's two-month averages swing by more
  than that (August 0.75, October 1.15), so the change is not expected to be clear yet; its
  bulk (July, August, December) falls after the date asked. A fall would be a false alarm.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._sections import replace_between
from bench.mapping_accuracy import EXAMPLES, ROOT, load_export

CHANGE = datetime(2023, 12, 31, tzinfo=UTC)
AS_OF = datetime(2024, 3, 4, tzinfo=UTC)
WITHIN_DAYS = 28
START, END = "<!-- health:start -->", "<!-- health:end -->"
HEADING = "## health — process drift against the generator's market changes"


@dataclass(frozen=True)
class Expected:
    """What a scenario's answer must flag (`metric`, `direction`, into `milestone` when set)
    and what else it may flag."""

    said: str
    metric: str | None = None
    direction: str | None = None
    milestone: str | None = None
    allowed: tuple[tuple[str, str], ...] = ()
    """(metric, direction) flags allowed besides the expected one ('' direction: either)."""


EXPECTED: dict[str, Expected] = {
    "steady": Expected("nothing flagged"),
    "conversion_drop": Expected(
        "conversion down into proposal_requested; every flag into it",
        "conversion",
        "down",
        "proposal_requested",
        (("days_to_next", ""),),
    ),
    "velocity_halves": Expected(
        "days to next up; no conversion or new-deals flag", "days_to_next", "up"
    ),
    "lead_flow_stops": Expected("new deals down; no milestone flag", "created", "down"),
    "lead_flow_doubles": Expected("new deals up; no milestone flag", "created", "up"),
    "strong_seasonality": Expected(
        "no milestone flag; new deals, if flagged, up", allowed=(("created", "up"),)
    ),
}
SCENARIOS = tuple(EXPECTED)


def _answer(seed: int, scenario: str, opportunities: int, tmp: Path) -> Any:
    from app.core.database import Database, upgrade
    from app.services.health.drift import drift
    from app.services.kpis.filters import Filters
    from app.services.kpis.store import KpiStore
    from app.services.mapping.activation import activate_ruleset
    from sandbox.history import build_params, generate

    params = build_params(
        seed=seed, opportunities=opportunities, scenario=scenario, now=CHANGE + timedelta(240)
    )
    params = replace(params, history_days=480)
    generate(params, tmp / "export", force=True)
    database = Database(f"sqlite:///{tmp / 'health.db'}")
    try:
        upgrade(database.engine)
        load_export(database, tmp / "export", "salesforce")
        rules = EXAMPLES / "salesforce.yaml"
        activate_ruleset(database, rules.read_text(), str(rules))
        return drift(KpiStore(database, as_of_setting=AS_OF).snapshot(), Filters())
    finally:
        database.dispose()


def _soon(step: Any) -> bool:
    return step.since is not None and abs((step.since - CHANGE.date()).days) <= WITHIN_DAYS


def passes(scenario: str, flagged: Sequence[Any]) -> bool:
    """Whether the flagged steps are what the scenario expects (`EXPECTED`)."""
    expected = EXPECTED[scenario]

    def wanted(step: Any) -> bool:
        return (
            step.metric == expected.metric
            and step.direction == expected.direction
            and (expected.milestone is None or step.to_milestone == expected.milestone)
        )

    def allowed(step: Any) -> bool:
        if expected.milestone is not None and step.to_milestone != expected.milestone:
            return False
        return wanted(step) or any(
            step.metric == metric and direction in ("", step.direction) and _soon(step)
            for metric, direction in expected.allowed
        )

    found = [step for step in flagged if wanted(step) and _soon(step)]
    if expected.metric is not None and not found:
        return False
    return all(allowed(step) for step in flagged)


def _row(seed: int, scenario: str, answer: Any, seconds: float) -> dict[str, Any]:
    flagged = [s for s in answer.steps if s.flagged]
    return {
        "scenario": scenario,
        "seed": seed,
        "tested": answer.tested,
        "flagged": "; ".join(
            f"{s.process}:{s.to_milestone}:{s.metric}:{s.direction}:{s.since}" for s in flagged
        )
        or "-",
        "expected": EXPECTED[scenario].said,
        "pass": passes(scenario, flagged),
        "seconds": round(seconds, 1),
    }


def section(rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The BENCHMARKS.md section: every run, pass or **FAIL**, and the count per scenario."""
    lines = [
        START,
        f"**Process drift** (`{meta['command']}`; {meta['date']}; commit {meta['commit']}; "
        f"{meta['machine']}; 1-minute load average {meta['load_start']} at the start, "
        f"{meta['load_end']} at the end; {meta['minutes']} min). Each run: a 480-day "
        "Salesforce history of the generator (8,000 deals by default) whose market changes on "
        "2023-12-31, mapped by the shipped example rules, asked for drift as of 2024-03-04 "
        "(nine weeks later). Target: the change flagged with *since* within 28 days of its "
        "date, at the right milestone (new deals a week for the inflow scenarios), and "
        "nothing on `steady`. What each scenario expects is in `bench/health.py`.",
        "",
        "| scenario | runs passed |",
        "|---|---:|",
    ]
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        runs = [r for r in rows if r["scenario"] == scenario]
        passed = sum(r["pass"] for r in runs)
        count = f"{passed} of {len(runs)}"
        lines.append(f"| {scenario} | {count if passed == len(runs) else f'**{count}**'} |")
    lines += [
        "",
        "| scenario | seed | expected | tests | flagged (process:into:metric:direction:since) "
        "| result | seconds |",
        "|---|---:|---|---:|---|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {r['expected']} | {r['tested']} "
            f"| {r['flagged']} | {'pass' if r['pass'] else '**FAIL**'} | {r['seconds']} |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace the section between the markers (a new heading before the first one if none)."""

    def missing(document: str, text: str) -> str:
        head, tail = document.split("\n## ", 1)
        return f"{head}\n{HEADING}\n\n{text}\n## {tail}"

    replace_between(path, START, END, text, missing)


def _commit() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return found.stdout.strip() or "unknown"


def _meta(
    args: list[str], when: datetime, commit: str, load_start: float, minutes: float
) -> dict[str, Any]:
    from bench.__main__ import machine

    box = machine()
    return {
        "command": " ".join(["python -m bench health", *args]),
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": f"{box['cores']} cores, {box['cpu']}, Python {platform.python_version()}",
        "load_start": load_start,
        "load_end": round(os.getloadavg()[0], 2),
        "minutes": minutes,
    }


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench health")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--scenarios", default="all")
    parser.add_argument("--opportunities", type=int, default=8000)
    parser.add_argument("--no-write", action="store_true", help="Leave BENCHMARKS.md alone.")
    options = parser.parse_args(args)
    scenarios = SCENARIOS if options.scenarios == "all" else tuple(options.scenarios.split(","))
    unknown = [s for s in scenarios if s not in EXPECTED]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    load_start = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    when = datetime.now(UTC)
    commit = _commit()
    rows = []
    for scenario in scenarios:
        for seed in (int(s) for s in options.seeds.split(",")):
            print(f"… {scenario}, seed {seed}", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                begun = time.perf_counter()
                answer = _answer(seed, scenario, options.opportunities, Path(tmp))
                rows.append(_row(seed, scenario, answer, time.perf_counter() - begun))
    if not options.no_write:
        minutes = round((time.perf_counter() - started) / 60, 1)
        write_section(section(rows, _meta(args, when, commit, load_start, minutes)))
    return rows
