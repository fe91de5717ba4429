"""Does "on track" predict reaching the target? A replay of the plan over generated histories.

    python -m bench targets [--seeds 1,2,3] [--opportunities 4000] [--scenarios steady]

For each seed (and market-change scenario, where the generator has them) a sales history is
generated, loaded into a fresh SQLite raw layer and mapped by the shipped example ruleset (the
path of `bench/forecast_quality.py`). Then, for each process and each complete past month and
quarter, targets are set from what was actually won in it — 0.8 and 1.25 times that, and what
the same process won in the period before — and the plan is made at the period's start with
a model fitted only on what was known then. At every Monday inside the period, the movement
known by then is tracked against that plan; the verdict "on track" (every milestone at the
50 % plan's pace or better) is compared with whether the target was reached in the end.

Per period kind and weeks left to the period's end: how many verdicts, the share on track,
P(reached | on track), P(missed | behind), the hit rate (verdicts that came true) and the
share of targets reached (what always guessing the likelier outcome would score against).
Verdicts at a Monday by which the target was already won are left out (nothing to predict);
targets whose plan had no milestone within reach at the start count as "behind".
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.mapping_accuracy import EXAMPLES, ROOT, load_export

FACTORS = (0.8, 1.25)
MONTHS = 12
QUARTERS = 4


@dataclass(frozen=True)
class Verdict:
    process: str
    kind: str
    rule: str
    weeks_left: int
    on_track: bool
    reached: bool


def generate(seed: int, opportunities: int, scenario: str, out: Path) -> bool:
    """The generator in its own process; False when it has no such scenario."""
    extra = "" if scenario == "steady" else f", scenario={scenario!r}"
    code = (
        "import sys; from pathlib import Path; "
        "from sandbox.history import build_params, generate; "
        f"generate(build_params(seed={seed}, size='small', opportunities={opportunities}"
        f"{extra}), Path(sys.argv[1]), force=True)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0 and "scenario" in done.stderr:
        print(f"… the generator has no scenario {scenario!r}: skipped", file=sys.stderr)
        return False
    done.check_returncode()
    return True


def _periods(kind: str, as_of: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """The last `count` complete months or quarters before `as_of`, oldest first."""
    from app.services.targets.periods import Period

    periods = []
    current = Period.containing("month" if kind == "month" else "quarter", as_of)
    for _ in range(count + 1):  # one more: the period before the first, for its won amount
        current = Period.containing(current.kind, current.starts_at - timedelta(days=1))
        periods.append((current.starts_at, current.ends_at))
    return periods[::-1]


def replay(snapshot: Any) -> list[Verdict]:
    """Every verdict over the snapshot's history (see the module's docstring)."""
    from app.kpis.columns import epoch
    from app.kpis.plan_columns import make_plan, track, won_value
    from app.kpis.winmodel import fit_win_model

    cols = snapshot.columns
    verdicts: list[Verdict] = []
    keys = sorted({p.key for p in snapshot.processes.values()})
    for kind, count in (("month", MONTHS), ("quarter", QUARTERS)):
        periods = _periods(kind, snapshot.as_of, count)
        models: dict[datetime, Any] = {}
        for key in keys:
            alike = sorted(
                (p for p in snapshot.processes.values() if p.key == key), key=lambda p: p.id
            )
            mask = np.isin(cols.process, np.array([p.id for p in alike], dtype=np.int64))
            positions = [0, *(m.position for m in alike[0].milestones)]
            won = [won_value(cols, mask, "amount", epoch(s), epoch(e))[0] for s, e in periods]
            for index, (start, end) in enumerate(periods[1:], start=1):
                if won[index] <= 0:
                    continue
                targets = {f"{f:g} x actual": f * won[index] for f in FACTORS}
                if won[index - 1] > 0:
                    targets["period before"] = won[index - 1]
                if start not in models:
                    cut, _ = cols.as_of(epoch(start))
                    models[start] = fit_win_model(cut, epoch(start))
                for rule, target in targets.items():
                    plan = make_plan(
                        cols, mask, mask, models[start], alike[0].id, positions, "amount",
                        target, start, end, start,
                    )  # fmt: skip
                    reached = won[index] >= target
                    monday = start + timedelta(days=(7 - start.weekday()) % 7 or 7)
                    while monday < end:
                        tracked = track(plan, cols, mask, monday)
                        so_far, _ = won_value(cols, mask, "amount", epoch(start), epoch(monday))
                        if so_far < target:
                            verdicts.append(
                                Verdict(
                                    key,
                                    kind,
                                    rule,
                                    math.ceil((end - monday) / timedelta(days=7)),
                                    tracked.on_track,
                                    reached,
                                )
                            )
                        monday += timedelta(days=7)
    return verdicts


def _bucket(verdict: Verdict) -> tuple[int, str]:
    """Weeks left to the period's end: each for a month, in threes for a quarter."""
    if verdict.kind == "month":
        return verdict.weeks_left, str(verdict.weeks_left)
    low = 3 * ((verdict.weeks_left - 1) // 3) + 1
    high = min(low + 2, 13)
    return low, f"{low}-{high}" if high > low else str(low)


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def _row(kind: str, rule: str, weeks: str, chosen: list[Verdict]) -> dict[str, Any]:
    on = [v for v in chosen if v.on_track]
    behind = [v for v in chosen if not v.on_track]
    return {
        "period": kind,
        "targets": rule,
        "weeks_left": weeks,
        "verdicts": len(chosen),
        "on_track": _share(len(on), len(chosen)),
        "reached_if_on_track": _share(sum(v.reached for v in on), len(on)),
        "missed_if_behind": _share(sum(not v.reached for v in behind), len(behind)),
        "hit_rate": _share(sum(v.on_track == v.reached for v in chosen), len(chosen)),
        "reached": _share(sum(v.reached for v in chosen), len(chosen)),
    }


def summarise(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """Per period kind: each horizon (every target rule), then each rule (every horizon)."""
    rows = []
    for kind in ("month", "quarter"):
        mine = [v for v in verdicts if v.kind == kind]
        horizons: dict[tuple[int, str], list[Verdict]] = defaultdict(list)
        rules: dict[str, list[Verdict]] = defaultdict(list)
        for verdict in mine:
            horizons[_bucket(verdict)].append(verdict)
            rules[verdict.rule].append(verdict)
        rows += [_row(kind, "all", label, horizons[(n, label)]) for n, label in sorted(horizons)]
        rows += [_row(kind, rule, "all", rules[rule]) for rule in sorted(rules)]
        if mine:
            rows.append(_row(kind, "all", "all", mine))
    return rows


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench targets")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--opportunities", type=int, default=4000)
    parser.add_argument("--scenarios", default="steady")
    parser.add_argument("--crm", default="salesforce")
    options = parser.parse_args(args)
    from app.core.database import Database, upgrade
    from app.services.kpis.store import KpiStore
    from app.services.mapping.activation import activate_ruleset

    verdicts: dict[str, list[Verdict]] = {}
    for scenario in options.scenarios.split(","):
        for seed in (int(s) for s in options.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                export = Path(tmp) / "export"
                print(f"… {scenario}, seed {seed}: generating", file=sys.stderr, flush=True)
                if not generate(seed, options.opportunities, scenario, export):
                    break
                database = Database(f"sqlite:///{Path(tmp) / 't.db'}")
                upgrade(database.engine)
                load_export(database, export, options.crm)
                path = EXAMPLES / f"{options.crm}.yaml"
                activate_ruleset(database, path.read_text(), str(path))
                manifest = json.loads((export / "manifest.json").read_text())
                now = datetime.fromisoformat(manifest["now"].replace("Z", "+00:00"))
                snapshot = KpiStore(database, as_of_setting=now).snapshot()  # the history's end
                started = time.perf_counter()
                found = replay(snapshot)
                print(
                    f"… {len(found)} verdicts in {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                verdicts.setdefault(scenario, []).extend(found)
                database.dispose()
    rows = []
    for scenario, found in verdicts.items():
        for row in summarise(found):
            rows.append({"scenario": scenario, "seeds": options.seeds, **row})
    return rows
