"""The estimators recover the sales-history generator's known parameters.

A generated history (3,000 deals, three years, deals still open at the end) is read from its
ground truth, `truth/deals.csv`, as plain histories. Conversion per step must match the
generator's expected conversion (its configured probability adjusted for rep skill) within
sampling error, the win probability from creation the product of the steps, and velocity the
median gap the generator observed, although open deals are censored.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.kpis.conversion import conversion
from app.kpis.history import DealHistory
from app.kpis.model import fit_model
from app.kpis.winmodel import fit_win_model_histories

ROOT = Path(__file__).resolve().parents[3]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[DealHistory], dict[str, Any]]:
    out = tmp_path_factory.mktemp("history") / "export"
    code = (
        "import sys; from pathlib import Path; "
        "from sandbox.history import build_params, generate; "
        "generate(build_params(seed=5, opportunities=3000), Path(sys.argv[1]), force=True)"
    )
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=ROOT)
    parameters = json.loads((out / "truth" / "parameters.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    steps = {p["key"]: [s["key"] for s in p["steps"]] for p in parameters["processes"]}
    process_ids = {key: i + 1 for i, key in enumerate(steps)}
    deals = []
    with (out / "truth" / "deals.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            keys = steps[row["process"]]
            reached = sorted(
                ((keys.index(k) + 1, _instant(row[k])) for k in keys if row.get(k)),
                key=lambda r: r[1],
            )
            deals.append(
                DealHistory(
                    key=int(row["deal_key"]),
                    process=process_ids[row["process"]],
                    created_at=_instant(row["created_at"]),
                    reached=tuple(reached),
                    outcome=row["outcome"],
                    closed_at=_instant(row["closed_at"]) if row["closed_at"] else None,
                    amount=float(row["amount"] or 0),
                )
            )
    context = {
        "as_of": _instant(parameters["now"]),
        "summary": summary["processes"],
        "process_ids": process_ids,
    }
    return deals, context


def test_step_conversions_match_the_generator(
    history: tuple[list[DealHistory], dict[str, Any]],
) -> None:
    deals, context = history
    for key, process in context["summary"].items():
        pid = context["process_ids"][key]
        mine = [d for d in deals if d.process == pid]
        for position, step in enumerate(process["steps"], start=1):
            result = conversion(mine, position - 1, position, context["as_of"])
            expected = step["expected_conversion"]
            error = math.sqrt(expected * (1 - expected) / max(step["decided"], 1))
            assert result.estimate is not None
            assert abs(result.estimate - expected) <= max(3.5 * error, 0.02), (key, step["key"])


def test_win_probability_from_creation_is_the_product_of_the_steps(
    history: tuple[list[DealHistory], dict[str, Any]],
) -> None:
    deals, context = history
    model = fit_win_model_histories(deals, context["as_of"].timestamp(), None)
    for key, process in context["summary"].items():
        expected = math.prod(step["expected_conversion"] for step in process["steps"])
        estimate = model.win(context["process_ids"][key], 0)
        assert estimate.source == "process"
        assert estimate.value == pytest.approx(expected, abs=0.03), key


def test_velocity_recovers_the_median_gaps(
    history: tuple[list[DealHistory], dict[str, Any]],
) -> None:
    deals, context = history
    model = fit_model(deals, context["as_of"])
    for key, process in context["summary"].items():
        pid = context["process_ids"][key]
        for position, step in enumerate(process["steps"]):
            velocity = model.velocity(pid, position)
            assert velocity.median_days is not None, (key, position, velocity)
            assert velocity.censored > 0 or position > 2  # open deals are in the sample
            observed = step["median_gap_days"]
            assert velocity.median_days == pytest.approx(observed, rel=0.2, abs=0.5), (key, step)
            assert velocity.p80_days is not None and velocity.p80_days > velocity.median_days
