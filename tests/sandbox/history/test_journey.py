"""Deals move only when the customer acts, and the evidence of each step is the customer's."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sandbox.history.clock import to_datetime
from sandbox.history.model import Story
from sandbox.history.params import LOST_STAGE, STAGES, WON_STAGE, build_params
from sandbox.history.simulation import Simulation


@pytest.fixture(scope="module")
def stories() -> list[Story]:
    return list(Simulation(build_params(seed=3, opportunities=1500)).stories())


def test_every_reached_step_has_exactly_one_customer_evidence(stories: list[Story]) -> None:
    for story in stories:
        deal = story.deal
        evidence = [(a.milestone, a) for a in deal.activities if a.milestone is not None]
        assert sorted(step for step, _ in evidence) == sorted(deal.milestones)
        for step, activity in evidence:
            assert activity.occurred_at == deal.milestones[step]
            assert activity.deleted_at is None
            if activity.kind == "email":
                assert activity.direction == "in"
            if activity.kind in ("call", "meeting"):
                assert activity.status in ("CONNECTED", "COMPLETED")


def test_steps_are_reached_in_process_order(stories: list[Story]) -> None:
    for story in stories:
        deal = story.deal
        keys = [step.key for step in deal.process.steps]
        reached = [k for k in keys if k in deal.milestones]
        assert reached == keys[: len(reached)]
        times = [deal.milestones[k] for k in reached]
        assert times == sorted(times)
        assert all(t > deal.created_at for t in times)


def test_outcomes_follow_the_customer(stories: list[Story]) -> None:
    for story in stories:
        deal = story.deal
        last_step = deal.process.steps[-1].key
        if deal.outcome == "won":
            assert last_step in deal.milestones
            assert deal.closed_at == deal.milestones[last_step]
            assert deal.states[-1].stage == WON_STAGE
            assert deal.states[-1].at >= deal.milestones[last_step]
        else:
            assert deal.outcome == "lost"
            assert last_step not in deal.milestones
            assert deal.dropped_at is not None
            assert deal.states[-1].stage == LOST_STAGE


def test_rep_kept_fields_drift_from_the_customer(stories: list[Story]) -> None:
    ahead = slipped = reopened = amount_changed = commit = 0
    for story in stories:
        deal = story.deal
        states = deal.states
        assert [s.at for s in states] == sorted(s.at for s in states)
        reached_stage = deal.process.entry_stage
        for before, after in itertools.pairwise(states):
            if after.close_day > before.close_day and after.stage == before.stage:
                slipped += 1
            if before.stage == LOST_STAGE and not STAGES[after.stage].is_closed:
                reopened += 1
            if after.amount != before.amount:
                amount_changed += 1
            if after.forecast == "Commit":
                commit += 1
        steps_reached = [i for i, s in enumerate(deal.process.steps) if s.key in deal.milestones]
        if steps_reached:
            reached_stage = deal.process.stage_after_step[steps_reached[-1]]
        if max(s.stage for s in states if s.stage < WON_STAGE) > reached_stage:
            ahead += 1
    assert ahead > 20
    assert slipped > 100
    assert reopened > 3
    assert amount_changed > 100
    assert commit > 20


def test_noise_of_a_real_crm_is_present(stories: list[Story]) -> None:
    activities = [a for s in stories for a in (*s.deal.activities, *s.loose_activities)]
    statuses = {(a.kind, a.status) for a in activities}
    for expected in [
        ("email", "BOUNCED"),
        ("email", "BOUNCE_NOTICE"),
        ("email", "AUTO_REPLY"),
        ("email", "FORWARDED"),
        ("meeting", "CANCELED"),
        ("meeting", "NO_SHOW"),
        ("meeting", "RESCHEDULED"),
        ("call", "NO_ANSWER"),
        ("call", "VOICEMAIL"),
        ("task", "NOT_STARTED"),
        ("task", "COMPLETED"),
    ]:
        assert expected in statuses
    n = len(activities)
    kinds = {a.kind for a in activities}
    assert kinds == {"email", "meeting", "call", "note", "task"}
    late = sum(1 for a in activities if a.logged_at - a.occurred_at > 86_400 and a.kind != "task")
    contact_only = sum(1 for a in activities if a.deal is not None and a.link == "contact")
    account_only = sum(1 for a in activities if a.link == "account")
    edited = sum(1 for a in activities if a.edit_note)
    deleted = sum(1 for a in activities if a.deleted_at is not None)
    no_reply = sum(1 for a in activities if a.kind == "email" and a.direction == "out")
    assert 0.01 * n < late
    assert 0.05 * n < contact_only < 0.11 * n
    assert 0.02 * n < account_only < 0.06 * n
    assert 0.03 * n < edited < 0.09 * n
    assert deleted > 0.005 * n
    assert no_reply > 0.3 * n
    junk = [s.junk for s in stories if s.junk is not None]
    assert junk and all(j.deleted_at is not None for j in junk)
    leads = [lead for s in stories for lead in s.leads]
    assert any(lead.converted_at is not None for lead in leads)
    assert any(lead.converted_at is None for lead in leads)


def test_duplicates_are_logged_later_and_carry_no_milestone(stories: list[Story]) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    duplicates = 0
    for story in stories:
        for a in story.deal.activities:
            key = (a.kind, a.occurred_at, a.subject, a.direction)
            if key in seen:
                duplicates += 1
                assert a.milestone is None or seen[key] == 0
            seen[key] = 1 if a.milestone is None else 0
    assert duplicates > 50


def test_reps_and_customers_act_in_business_hours(stories: list[Story]) -> None:
    for story in stories:
        deal = story.deal
        moments = [state.at for state in deal.states] + list(deal.milestones.values())
        for t in moments:
            moment = to_datetime(t)
            assert moment.weekday() < 5, moment
            assert 8 <= moment.hour <= 18, moment


def test_some_dead_deals_stay_open_for_months(stories: list[Story]) -> None:
    stale = 0
    for story in stories:
        deal = story.deal
        if deal.outcome != "lost" or deal.closed_at is None:
            continue
        last_touch = max([deal.created_at, *deal.milestones.values()])
        if deal.closed_at - last_touch > 3 * deal.process.patience_days * 86_400:
            stale += 1
    lost = sum(1 for s in stories if s.deal.outcome == "lost")
    assert 0.05 * lost < stale < 0.3 * lost
