"""Drift: per process and milestone, has conversion to the next milestone or the time to reach
it changed, recent cohorts against the half-year before them? And per process, has the flow of
new deals changed (metric `created`, on the step from `created`)? The statistics are
`app.kpis.drift`;
this reads the KPI view's columns (the filters of every KPI but the period) and shapes the
answer, with the false-alarm rate held over every test of the answer (Benjamini-Hochberg).

    answer = drift(snapshot, Filters(process="smb_new_business"))
    [step.summary for step in answer.steps if step.flagged]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

import numpy as np

from app.kpis import drift as stats
from app.kpis.columns import epoch, instant
from app.services.health.public import DriftAnswer, Estimate, Metric, StepDrift
from app.services.kpis.filters import Filters
from app.services.kpis.queries import deal_mask, process_groups
from app.services.kpis.snapshot import ProcessInfo, Snapshot

__all__ = ["METHOD", "drift", "estimate"]

METRICS: tuple[Metric, ...] = ("conversion", "days_to_next")
"""The metrics of every step; `created` is the process's, on its first step."""

METHOD = (
    "Deals form weekly cohorts by the Monday they reached a milestone. Conversion is the share "
    "that reached a later milestone within the step's horizon (its 80th percentile of days to "
    "the next milestone, 7-91 days), read only over cohorts whose every deal is that old, so "
    "no outcome is still open; days to next are those of the deals that converted. The recent "
    f"{stats.RECENT_WEEKS} weekly cohorts are compared with the {stats.BASELINE_WEEKS} before "
    "them: days by a Mann-Whitney rank-sum test; conversion by a two-proportion z-test at the "
    "recent pace (baseline conversion read within the horizon divided by `pace`, the factor "
    "by which recent days to next are the baseline's stretched, so that a slowdown is not "
    "reported as a drop); both two-sided, each step tested only with at least "
    f"{stats.MIN_RECENT} recent and {stats.MIN_BASELINE} baseline deals. New deals a week "
    f"(metric `created`): the last {stats.RECENT_WEEKS} complete weeks against the "
    f"{stats.BASELINE_WEEKS} before them (none before the process's first deal; at least "
    f"{stats.MIN_BASELINE_WEEKS} weeks and {stats.MIN_BASELINE} deals), a quasi-Poisson "
    "z-test whose variance is the baseline weeks' own. A change is flagged "
    "when it survives Benjamini-Hochberg over every test of this answer at a false discovery "
    f"rate of {stats.FALSE_DISCOVERY_RATE:.0%}; `since` is the week from which the "
    "before/after difference is clearest (searched over the last "
    f"{stats.SCAN_WEEKS} weeks of cohorts). Intervals are 95 %: Wilson for shares, order "
    "statistics for medians, normal for deals a week."
)


def estimate(value: stats.Interval | None, digits: int) -> Estimate | None:
    if value is None or math.isnan(value.value):
        return None
    return Estimate(
        value=round(value.value, digits),
        low=round(value.low, digits),
        high=round(value.high, digits),
        deals=value.n,
    )


def _day(seconds: float) -> date:
    return instant(seconds).date()


def _said(step: StepDrift, process_name: str) -> str:
    assert step.before is not None and step.after is not None and step.since is not None
    verb = "rose" if step.direction == "up" else "fell"
    when = f"{step.since.day} {step.since:%B %Y}"
    if step.metric == "created":
        return (
            f"new deals in {process_name} {verb} from {step.before.value:.0f} to "
            f"{step.after.value:.0f} a week since {when}"
        )
    if step.metric == "conversion":
        return (
            f"{step.from_name} → {step.to_name} {verb} from {step.before.value:.0%} to "
            f"{step.after.value:.0%} since {when} (conversion within {step.horizon_days:.0f} days)"
        )
    return (
        f"{step.from_name} → {step.to_name}: days to reach it {verb} from "
        f"{step.before.value:.1f} to {step.after.value:.1f} (median) since {when}"
    )


@dataclass(frozen=True)
class _Tested:
    """A step as first shaped (not flagged yet), with what flagging it needs."""

    step: StepDrift
    process_name: str
    test: stats.Comparison | None
    since: float | None
    before: stats.Interval | None
    after: stats.Interval | None


def _windows(
    end: float | None, start: float | None = None
) -> tuple[tuple[date, date] | None, tuple[date, date] | None]:
    """First and last Monday of the baseline and of the recent weeks ending at `end` (the
    baseline starting no earlier than `start`)."""
    if end is None:
        return None, None
    recent_start = end - stats.RECENT_WEEKS * stats.WEEK
    first = recent_start - stats.BASELINE_WEEKS * stats.WEEK
    baseline = (
        _day(first if start is None else max(first, start)),
        _day(recent_start - stats.WEEK),
    )
    return baseline, (_day(recent_start), _day(end - stats.WEEK))


def _unflagged(
    process: ProcessInfo,
    names: tuple[str, str, str, str],
    metric: Metric,
    test: stats.Comparison | None,
    **measured: Any,
) -> StepDrift:
    """A step's test as measured, before the false-alarm control decides whether it is flagged
    (`_flag` fills in the change)."""
    return StepDrift(
        process=process.key,
        from_milestone=names[0],
        from_name=names[1],
        to_milestone=names[2],
        to_name=names[3],
        metric=metric,
        p_value=None if test is None else float(f"{test.p_value:.3g}"),
        flagged=False,
        direction=None,
        since=None,
        before=None,
        after=None,
        change=None,
        summary=None,
        **measured,
    )


def _cohort_steps(
    process: ProcessInfo, names: tuple[str, str, str, str], found: stats.StepDrift
) -> list[_Tested]:
    tested = []
    for metric in METRICS:
        share = metric == "conversion"
        test = found.conversion_test if share else found.days_test
        digits = _digits(metric)
        baseline, recent = _windows(found.window_end)
        step = _unflagged(
            process,
            names,
            metric,
            test,
            horizon_days=found.horizon_days,
            pace=None if not share or found.pace is None else round(found.pace, 3),
            baseline_weeks=baseline,
            recent_weeks=recent,
            baseline=estimate(found.baseline_conversion if share else found.baseline_days, digits),
            recent=estimate(found.recent_conversion if share else found.recent_days, digits),
            note=None
            if test is not None
            else "no horizon: no deal took this step yet"
            if found.horizon_days is None
            else "too few deals to test",
        )
        tested.append(
            _Tested(
                step,
                process.name,
                test,
                found.conversion_since if share else found.days_since,
                found.conversion_before if share else found.days_before,
                found.conversion_after if share else found.days_after,
            )
        )
    return tested


def _created_step(
    process: ProcessInfo, names: tuple[str, str, str, str], found: stats.RateDrift
) -> _Tested:
    """New deals a week, on the process's first step: the flow into the process."""
    baseline, recent = _windows(found.window_end, found.window_start)
    step = _unflagged(
        process,
        names,
        "created",
        found.test,
        horizon_days=None,
        baseline_weeks=baseline,
        recent_weeks=recent,
        baseline=estimate(found.baseline, 2),
        recent=estimate(found.recent, 2),
        note=None if found.test is not None else "too few deals or weeks to test",
    )
    return _Tested(step, process.name, found.test, found.since, found.before, found.after)


def _flag(tested: _Tested) -> StepDrift:
    assert tested.test is not None
    digits = _digits(tested.step.metric)
    before, after = estimate(tested.before, digits), estimate(tested.after, digits)
    flagged = tested.step.model_copy(
        update={
            "flagged": True,
            "direction": "up" if tested.test.z > 0 else "down",
            "since": None if tested.since is None else _day(tested.since),
            "before": before,
            "after": after,
            "change": None
            if before is None or after is None
            else round(after.value - before.value, digits),
        }
    )
    if flagged.since is None or before is None or after is None:
        return flagged
    return flagged.model_copy(update={"summary": _said(flagged, tested.process_name)})


def _digits(metric: Metric) -> int:
    return 4 if metric == "conversion" else 2


def drift(snapshot: Snapshot, filters: Filters) -> DriftAnswer:
    """Every step of every selected process, tested for drift of conversion and of days to
    the next milestone, and every process for drift of its new deals a week; flagged where the
    change is clear over all the answer's tests."""
    cols = snapshot.columns
    mask = deal_mask(snapshot, filters)
    as_of = epoch(snapshot.as_of)
    found: list[_Tested] = []
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
            names = (key, name, next_key, next_name)
            reached = reach[:, position]
            if position == 0 and reached.shape[0]:
                inflow = stats.created_drift(reached, as_of)
                found.append(_created_step(process, names, inflow))
            later = reach[:, position + 1 :]
            advanced = np.where(np.isnan(later), np.inf, later).min(axis=1, initial=np.inf)
            advanced[np.isinf(advanced)] = np.nan
            horizon = stats.horizon_days(reached, advanced, as_of)
            result = stats.step_drift(reached, advanced, as_of, horizon=horizon)
            found.extend(_cohort_steps(process, names, result))
    p_values = [tested.test.p_value for tested in found if tested.test is not None]
    rejected = iter(stats.benjamini_hochberg(p_values))
    steps = [
        _flag(tested) if tested.test is not None and next(rejected) else tested.step
        for tested in found
    ]
    return DriftAnswer(
        filters=filters,
        as_of=snapshot.as_of,
        method=METHOD,
        false_discovery_rate=stats.FALSE_DISCOVERY_RATE,
        tested=len(p_values),
        flagged=sum(step.flagged for step in steps),
        steps=steps,
    )
