"""The simulated business matches its configured parameters within sampling error."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

import pytest

from sandbox.history.clock import DAY, to_datetime
from sandbox.history.model import Story
from sandbox.history.org import TEAM_SIZE
from sandbox.history.params import GeneratorParams, build_params
from sandbox.history.simulation import Simulation
from sandbox.history.summary import SummaryBuilder
from sandbox.history.truth import truth_of

N = 6000


@pytest.fixture(scope="module")
def run() -> tuple[GeneratorParams, Simulation, list[Story], dict[str, Any]]:
    params = build_params(seed=11, opportunities=N)
    sim = Simulation(params)
    stories = list(sim.stories())
    summary = SummaryBuilder(params)
    for story in stories:
        summary.add(truth_of(story.deal, params.future_until_t))
    return params, sim, stories, summary.result({})


def _sigma(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def test_exactly_the_requested_number_of_deals_is_created_up_to_now(run: Any) -> None:
    params, _, stories, _ = run
    created = [s.deal.created_at for s in stories]
    assert len(created) == N
    assert all(params.history_start_t <= t <= params.now_t for t in created)
    assert created == sorted(created)


def test_step_conversion_matches_the_configured_probability(run: Any) -> None:
    params, _, _, summary = run
    checked = 0
    for process in params.processes:
        for step in summary["processes"][process.key]["steps"]:
            n = step["decided"]
            if n < 80:
                continue
            expected = step["expected_conversion"]
            # Rep skill moves a step's probability by at most +-15%; the deals' mix averages out.
            assert expected == pytest.approx(step["configured_probability"], abs=0.06)
            assert abs(step["conversion"] - expected) <= 4 * _sigma(expected, n) + 0.01, step
            checked += 1
    assert checked >= 10


def test_median_gaps_match_the_configured_business_days(run: Any) -> None:
    _, _, _, summary = run
    checked = 0
    for process in summary["processes"].values():
        for step in process["steps"]:
            if step["reached"] < 150:
                continue
            configured = step["configured_median_gap_business_days"]
            assert step["median_gap_business_days"] == pytest.approx(configured, rel=0.15), step
            # Calendar days are longer: nights and weekends do not count as business time.
            assert step["median_gap_days"] > step["median_gap_business_days"]
            checked += 1
    assert checked >= 8


def test_win_rates_match_the_product_of_step_probabilities(run: Any) -> None:
    _, _, _, summary = run
    for process in summary["processes"].values():
        closed = process["won"] + process["lost"]
        configured = process["configured_win_rate"]
        assert abs(process["win_rate"] - configured) <= 4 * _sigma(configured, closed) + 0.04
    segments = summary["segments"]
    assert set(segments) == {"enterprise", "smb"}
    assert all(0.05 < s["win_rate"] < 0.4 for s in segments.values())


def test_process_shares_and_deal_sizes(run: Any) -> None:
    params, _, stories, _ = run
    shares = Counter(s.deal.process.key for s in stories)
    for process in params.processes:
        # Expansion needs existing customers, so early on some become new business instead.
        tolerance = 0.05 if process.deal_type == "existing_business" else 0.04
        assert shares[process.key] / N == pytest.approx(process.share, abs=tolerance)
        amounts = [s.deal.true_amount for s in stories if s.deal.process.key == process.key]
        assert statistics.median(amounts) == pytest.approx(process.amount_median, rel=0.12)


def test_inflow_is_seasonal_and_growing(run: Any) -> None:
    params, _, stories, _ = run
    months = Counter(to_datetime(s.deal.created_at).month for s in stories)
    assert months[8] < months[10] * 0.8  # August is quiet, October busy
    year = 365 * DAY
    first = sum(1 for s in stories if s.deal.created_at < params.history_start_t + year)
    last = sum(1 for s in stories if s.deal.created_at >= params.now_t - year)
    assert last > first * 1.15
    assert all(to_datetime(s.deal.created_at).weekday() < 5 for s in stories)


def test_reps_have_skill_tenure_and_teams(run: Any) -> None:
    params, sim, stories, _ = run
    reps = sim.org.reps
    teams = Counter(rep.team for rep in reps)
    assert max(teams.values()) <= TEAM_SIZE
    assert {rep.segment for rep in reps} == {"enterprise", "smb"}
    assert statistics.pstdev(rep.skill for rep in reps) > 0.2
    assert any(rep.hired_at > params.history_start_t for rep in reps)
    assert any(rep.left_at is not None for rep in reps)
    for story in stories:
        deal = story.deal
        owner = deal.owner
        assert owner.hired_at <= deal.created_at
        assert owner.left_at is None or deal.created_at < owner.left_at


def test_accounts_have_several_contacts_and_some_have_several_deals(run: Any) -> None:
    _, _, stories, _ = run
    per_account = Counter(s.deal.account.key for s in stories)
    assert max(per_account.values()) >= 2
    enterprise = [s.deal.account for s in stories if s.deal.process.segment == "enterprise"]
    assert statistics.mean(len(a.contacts) for a in enterprise) >= 3


def test_any_range_of_deals_can_be_simulated_on_its_own() -> None:
    params = build_params(seed=5, opportunities=400, future_days=20)

    def fingerprint(stories: list[Story]) -> list[tuple[object, ...]]:
        return [
            (
                s.deal.key,
                s.deal.created_at,
                s.deal.account.key,
                s.deal.owner.key,
                tuple(sorted(s.deal.milestones.items())),
                tuple((a.key, a.kind, a.logged_at) for a in s.deal.activities),
                tuple((st.at, st.stage, st.amount) for st in s.deal.states),
            )
            for s in stories
        ]

    whole = fingerprint(list(Simulation(params).stories()))
    parts = fingerprint(list(Simulation(params).stories(0, 250)))
    parts += fingerprint(list(Simulation(params).stories(250)))
    assert parts == whole
    assert len(whole) > 400
