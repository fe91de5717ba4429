"""Drift: per process and milestone, has conversion to the next milestone or the time to reach
it changed, recent cohorts against the year before them? The statistics are `app.kpis.drift`;
this reads the KPI view's columns (the filters of every KPI but the period) and shapes the
answer, with the false-alarm rate held over every test of the answer (Benjamini-Hochberg).

    answer = drift(snapshot, Filters(process="smb_new_business"))
    [step.summary for step in answer.steps if step.flagged]
"""

from __future__ import annotations

import math
from datetime import date
from itertools import pairwise

import numpy as np

from app.kpis import drift as stats
from app.kpis.columns import epoch, instant
from app.services.health.public import DriftAnswer, Estimate, Metric, StepDrift
from app.services.kpis.filters import Filters
from app.services.kpis.queries import deal_mask, process_groups
from app.services.kpis.snapshot import Snapshot

__all__ = ["METHOD", "drift", "estimate"]

METRICS: tuple[Metric, ...] = ("conversion", "days_to_next")

METHOD = (
    "Deals form weekly cohorts by the Monday they reached a milestone. Conversion is the share "
    "that reached a later milestone within the step's horizon (its 80th percentile of days to "
    "the next milestone, 7-91 days), read only over cohorts whose every deal is that old, so "
    "no outcome is still open; days to next are those of the deals that converted. The recent "
    f"{stats.RECENT_WEEKS} weekly cohorts are compared with the {stats.BASELINE_WEEKS} before "
    "them: conversion by a two-proportion z-test, days by a Mann-Whitney rank-sum test, both "
    "two-sided, each step tested only with at least "
    f"{stats.MIN_RECENT} recent and {stats.MIN_BASELINE} baseline deals. A change is flagged "
    "when it survives Benjamini-Hochberg over every test of this answer at a false discovery "
    f"rate of {stats.FALSE_DISCOVERY_RATE:.0%}; `since` is the week from which the "
    "before/after difference is clearest (searched over the last "
    f"{stats.SCAN_WEEKS} weeks of cohorts). Intervals are 95 %: Wilson for shares, order "
    "statistics for medians."
)


def estimate(value: stats.Interval | None, digits: int) -> Estimate | None:
    if value is None or value.n == 0 or math.isnan(value.value):
        return None
    return Estimate(
        value=round(value.value, digits),
        low=round(value.low, digits),
        high=round(value.high, digits),
        deals=value.n,
    )


def _day(seconds: float) -> date:
    return instant(seconds).date()


def _said(step: StepDrift) -> str:
    assert step.before is not None and step.after is not None and step.since is not None
    verb = "rose" if step.direction == "up" else "fell"
    when = f"{step.since.day} {step.since:%B %Y}"
    if step.metric == "conversion":
        return (
            f"{step.from_name} → {step.to_name} {verb} from {step.before.value:.0%} to "
            f"{step.after.value:.0%} since {when} (conversion within {step.horizon_days:.0f} days)"
        )
    return (
        f"{step.from_name} → {step.to_name}: days to reach it {verb} from "
        f"{step.before.value:.1f} to {step.after.value:.1f} (median) since {when}"
    )


def _steps(
    process: str, names: tuple[str, str, str, str], metric: Metric, found: stats.StepDrift
) -> tuple[StepDrift, stats.Comparison | None]:
    share = metric == "conversion"
    test = found.conversion_test if share else found.days_test
    digits = 4 if share else 2
    weeks = None
    recent = None
    if found.window_end is not None:
        end = found.window_end
        recent_start = end - stats.RECENT_WEEKS * stats.WEEK
        weeks = (
            _day(recent_start - stats.BASELINE_WEEKS * stats.WEEK),
            _day(recent_start - stats.WEEK),
        )
        recent = (_day(recent_start), _day(end - stats.WEEK))
    step = StepDrift(
        process=process,
        from_milestone=names[0],
        from_name=names[1],
        to_milestone=names[2],
        to_name=names[3],
        metric=metric,
        horizon_days=found.horizon_days,
        baseline_weeks=weeks,
        recent_weeks=recent,
        baseline=estimate(found.baseline_conversion if share else found.baseline_days, digits),
        recent=estimate(found.recent_conversion if share else found.recent_days, digits),
        p_value=None if test is None else float(f"{test.p_value:.3g}"),
        flagged=False,
        direction=None,
        since=None,
        before=None,
        after=None,
        change=None,
        summary=None,
        note=None
        if test is not None
        else "no horizon: no deal took this step yet"
        if found.horizon_days is None
        else "too few deals to test",
    )
    return step, test


def _flag(step: StepDrift, found: stats.StepDrift, test: stats.Comparison) -> StepDrift:
    share = step.metric == "conversion"
    since = found.conversion_since if share else found.days_since
    before = estimate(found.conversion_before if share else found.days_before, _digits(step))
    after = estimate(found.conversion_after if share else found.days_after, _digits(step))
    flagged = step.model_copy(
        update={
            "flagged": True,
            "direction": "up" if test.z > 0 else "down",
            "since": None if since is None else _day(since),
            "before": before,
            "after": after,
            "change": None
            if before is None or after is None
            else round(after.value - before.value, _digits(step)),
        }
    )
    if flagged.since is None or before is None or after is None:
        return flagged
    return flagged.model_copy(update={"summary": _said(flagged)})


def _digits(step: StepDrift) -> int:
    return 4 if step.metric == "conversion" else 2


def drift(snapshot: Snapshot, filters: Filters) -> DriftAnswer:
    """Every step of every selected process, tested for drift of conversion and of days to
    the next milestone; flagged where the change is clear over all the answer's tests."""
    cols = snapshot.columns
    mask = deal_mask(snapshot, filters)
    as_of = epoch(snapshot.as_of)
    found: list[tuple[StepDrift, stats.StepDrift, stats.Comparison | None]] = []
    for group in process_groups(snapshot, filters):
        process = group.info
        members = np.nonzero(mask & np.isin(cols.process, group.ids))[0]
        reach = cols.reach[members]
        positions = [(0, "created", "Opportunity created")] + [
            (m.position, m.key, m.name) for m in process.milestones
        ]
        for (position, key, name), (_, next_key, next_name) in pairwise(positions):
            if position + 1 > reach.shape[1] - 1:
                continue
            reached = reach[:, position]
            later = reach[:, position + 1 :]
            advanced = np.where(np.isnan(later), np.inf, later).min(axis=1, initial=np.inf)
            advanced[np.isinf(advanced)] = np.nan
            horizon = stats.horizon_days(reached, advanced, as_of)
            result = stats.step_drift(reached, advanced, as_of, horizon=horizon)
            names = (key, name, next_key, next_name)
            for metric in METRICS:
                step, test = _steps(process.key, names, metric, result)
                found.append((step, result, test))
    p_values = [test.p_value for _, _, test in found if test is not None]
    rejected = iter(stats.benjamini_hochberg(p_values))
    steps = []
    for step, result, test in found:
        if test is not None and next(rejected):
            step = _flag(step, result, test)
        steps.append(step)
    return DriftAnswer(
        filters=filters,
        as_of=snapshot.as_of,
        method=METHOD,
        false_discovery_rate=stats.FALSE_DISCOVERY_RATE,
        tested=len(p_values),
        flagged=sum(step.flagged for step in steps),
        steps=steps,
    )
