"""Each market-change scenario changes what it says, from its date on, and records it as truth."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from sandbox.history import build_params, generate
from sandbox.history.clock import DAY, business_days_between, to_datetime
from sandbox.history.model import Deal
from sandbox.history.params import GeneratorParams
from sandbox.history.scenarios import SCENARIOS
from sandbox.history.simulation import Simulation

N = 3000
_deals: dict[str, tuple[GeneratorParams, list[Deal]]] = {}


def _run(scenario: str) -> tuple[GeneratorParams, list[Deal]]:
    if scenario not in _deals:
        params = build_params(seed=21, opportunities=N, future_days=60, scenario=scenario)
        _deals[scenario] = (params, [story.deal for story in Simulation(params).stories()])
    return _deals[scenario]


def _created_before_and_after(scenario: str) -> tuple[int, int]:
    params, deals = _run(scenario)
    # a year on each side of the change, so that growth and seasons weigh the same
    before = sum(params.change_t - 365 * DAY <= d.created_at < params.change_t for d in deals)
    after = sum(params.change_t <= d.created_at < params.change_t + 365 * DAY for d in deals)
    return before, after


def _conversion(scenario: str, step: str, after: bool) -> float:
    """Share of deals that reached `step` among those that reached the step before it (or were
    created) on the given side of the change and whose fate at `step` is decided."""
    params, deals = _run(scenario)
    reached = decided = 0
    for deal in deals:
        keys = [s.key for s in deal.process.steps]
        if step not in keys:
            continue
        index = keys.index(step)
        start = deal.created_at if index == 0 else deal.milestones.get(keys[index - 1])
        if start is None or (start >= params.change_t) != after:
            continue
        if step in deal.milestones:
            reached += 1
            decided += 1
        elif deal.dropped_at is not None:
            decided += 1
    assert decided > 150, (scenario, step, after, decided)
    return reached / decided


def _median_gap(scenario: str, after: bool) -> float:
    params, deals = _run(scenario)
    gaps = []
    for deal in deals:
        previous = deal.created_at
        for step in deal.process.steps:
            at = deal.milestones.get(step.key)
            if at is None:
                break
            if (previous >= params.change_t) == after:
                gaps.append(business_days_between(previous, at) / step.gap_median_days)
            previous = at
    return statistics.median(gaps)


def test_the_change_is_in_the_middle_of_the_history() -> None:
    params = build_params(seed=1, scenario="lead_flow_stops")
    assert params.scenario.name == "lead_flow_stops"
    assert params.to_json()["scenario_changes_at"] == "2023-12-31T00:00:00.000Z"
    assert build_params(seed=1).scenario == SCENARIOS["steady"]


def test_steady_is_the_market_of_before_scenarios() -> None:
    before, after = _created_before_and_after("steady")
    assert 1.0 < after / before < 1.35  # 15 % a year of growth
    assert _conversion("steady", "proposal_requested", after=True) == pytest.approx(
        _conversion("steady", "proposal_requested", after=False), abs=0.06
    )
    assert _median_gap("steady", after=True) == pytest.approx(
        _median_gap("steady", after=False), rel=0.12
    )


def test_lead_flow_stops() -> None:
    params, deals = _run("lead_flow_stops")
    assert len(deals) == N  # the same deals, all before the change; none after now
    assert all(d.created_at < params.change_t for d in deals)
    assert Simulation(params).future_count() == 0


def test_lead_flow_doubles() -> None:
    steady_before, steady_after = _created_before_and_after("steady")
    before, after = _created_before_and_after("lead_flow_doubles")
    assert (after / before) / (steady_after / steady_before) == pytest.approx(2.0, rel=0.1)


def test_conversion_at_the_mid_process_milestone_falls_by_40_percent() -> None:
    step = "proposal_requested"
    before = _conversion("conversion_drop", step, after=False)
    after = _conversion("conversion_drop", step, after=True)
    assert after / before == pytest.approx(0.6, abs=0.08)
    # the other milestones keep their conversion
    for other in ("reply", "meeting_held", "signed"):
        assert _conversion("conversion_drop", other, after=True) == pytest.approx(
            _conversion("conversion_drop", other, after=False), abs=0.07
        )


def test_velocity_halves() -> None:
    before = _median_gap("velocity_halves", after=False)
    after = _median_gap("velocity_halves", after=True)
    assert after / before == pytest.approx(2.0, rel=0.12)


def test_strong_seasonality() -> None:
    params, deals = _run("strong_seasonality")
    months = {False: Counter[int](), True: Counter[int]()}
    for deal in deals:
        if deal.created_at < params.now_t:
            months[deal.created_at >= params.change_t][to_datetime(deal.created_at).month] += 1
    # August against October: 0.75 / 1.15 before the change, 0.2 / 1.6 after it
    assert months[False][8] / months[False][10] == pytest.approx(0.65, abs=0.15)
    assert months[True][8] / months[True][10] == pytest.approx(0.125, abs=0.06)


def test_the_scenario_is_ground_truth_in_the_export(tmp_path: Path) -> None:
    out = tmp_path / "out"
    params = build_params(seed=3, opportunities=60, scenario="conversion_drop")
    summary = generate(params, out)
    truth = json.loads((out / "truth" / "scenario.json").read_text())
    assert truth["scenario"] == "conversion_drop"
    assert truth["changes_at"] == "2023-12-31T00:00:00.000Z"
    assert (truth["step"], truth["step_factor"]) == ("proposal_requested", 0.6)
    assert summary["scenario"] == truth
    parameters = json.loads((out / "truth" / "parameters.json").read_text())
    assert parameters["scenario"]["name"] == "conversion_drop"
