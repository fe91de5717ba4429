"""Against generated market changes: a conversion drop is flagged at the right milestone within
weeks of its date, a slowdown as slower days (not as a conversion drop), a stop of new deals as
new deals a week, and a steady market raises no alarm.

Each history is 480 days with its change at the middle (2023-12-31) and is asked as of
2024-03-04, nine weeks after the change: the 26 + 8 weeks of cohorts lie before that.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.core.database import Database
from app.services.health.drift import drift
from app.services.health.public import DriftAnswer
from app.services.kpis.filters import Filters
from app.services.kpis.store import KpiStore
from app.services.mapping.activation import activate_ruleset
from bench.mapping_accuracy import EXAMPLES, load_export
from sandbox.history import build_params, generate

CHANGE = datetime(2023, 12, 31, tzinfo=UTC)
AS_OF = datetime(2024, 3, 4, tzinfo=UTC)
OPPORTUNITIES = 6000


def health_of(
    database: Database, out: Path, seed: int, scenario: str, opportunities: int = OPPORTUNITIES
) -> DriftAnswer:
    params = build_params(
        seed=seed, opportunities=opportunities, scenario=scenario, now=CHANGE + timedelta(240)
    )
    params = replace(params, history_days=480)
    assert params.change_t == CHANGE.timestamp()
    generate(params, out, force=True)
    load_export(database, out, "salesforce")
    rules = EXAMPLES / "salesforce.yaml"
    activate_ruleset(database, rules.read_text(), str(rules))
    return drift(KpiStore(database, as_of_setting=AS_OF).snapshot(), Filters())


def test_a_conversion_drop_is_flagged_at_proposal_requested(db: Database, tmp_path: Path) -> None:
    # at 6,000 deals the recent window holds too few converters to tell a drop from a slowdown
    answer = health_of(db, tmp_path, 1, "conversion_drop", opportunities=8000)
    flagged = [step for step in answer.steps if step.flagged]
    assert {step.to_milestone for step in flagged} == {"proposal_requested"}, [
        step.summary for step in flagged
    ]
    drops = [step for step in flagged if step.metric == "conversion"]
    assert {step.process for step in drops} >= {"smb_new_business"}
    for step in drops:
        assert step.direction == "down" and step.since is not None
        assert abs((step.since - CHANGE.date()).days) <= 28
        assert step.before and step.after and step.after.value < step.before.value
        assert step.summary and "fell from" in step.summary


@pytest.mark.parametrize("seed", [2, 3])
def test_a_steady_market_raises_no_alarm(db: Database, tmp_path: Path, seed: int) -> None:
    answer = health_of(db, tmp_path, seed, "steady")
    assert answer.tested > 10
    assert answer.flagged == 0, [s.summary for s in answer.steps if s.flagged]
    weeks = answer.steps[0].baseline_weeks
    assert answer.as_of == AS_OF and weeks is not None and date(2023, 6, 1) < weeks[0]


def test_a_slowdown_is_flagged_as_slower_not_as_a_conversion_drop(
    db: Database, tmp_path: Path
) -> None:
    answer = health_of(db, tmp_path, 1, "velocity_halves")
    flagged = [step for step in answer.steps if step.flagged]
    assert {step.metric for step in flagged} == {"days_to_next"}, [s.summary for s in flagged]
    slower = [step for step in flagged if step.direction == "up"]
    assert any(s.since and abs((s.since - CHANGE.date()).days) <= 28 for s in slower)
    for step in slower:
        assert step.summary and "days to reach it rose from" in step.summary
    paced = [s for s in answer.steps if s.metric == "conversion" and s.pace is not None]
    assert max(s.pace for s in paced if s.pace is not None) > 1.4  # the slowdown, measured


def test_new_deals_that_stop_are_flagged_per_process(db: Database, tmp_path: Path) -> None:
    answer = health_of(db, tmp_path, 1, "lead_flow_stops")
    stops = [step for step in answer.steps if step.flagged and step.metric == "created"]
    assert {step.process for step in stops} == {
        "enterprise_new_business",
        "expansion",
        "smb_new_business",
    }
    for step in stops:
        assert step.direction == "down" and step.from_milestone == "created"
        # the Monday after the change (Sunday 31 December), or the quiet Christmas week before
        assert step.since in (date(2023, 12, 25), date(2024, 1, 1))
        assert step.before is not None and step.after is not None
        assert step.after.value < step.before.value / 10
        assert step.summary and step.summary.startswith("new deals in ")
        assert f"a week since {step.since.day} " in step.summary
    assert not [s.summary for s in answer.steps if s.flagged and s.metric == "conversion"]
