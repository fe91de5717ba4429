"""A target's plan over the KPI view: the movement it requires at every milestone, and
whether the team is on track for it, week by week.

The math is `app.kpis.plan` and `app.kpis.plan_columns`; this module picks the target's
deals out of a `Snapshot` (its process, and its team or rep, with the KPI filters), makes the
plan from now on and the plan as made at the period's start, tracks the movement since then
against the latter, and shapes the answer. "Now" is the snapshot's `as_of` (the data clock).

    plan = target_plan(snapshot, target, breakdown=[team_target, rep_target])
    plan.status, plan.summary
    plan.milestones[1].p80.per_week       # replies needed each week for 80 %
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.errors import ConflictError
from app.kpis.columns import Bools
from app.kpis.plan import CONFIDENCES, PlanWeek
from app.kpis.plan_columns import (
    BEYOND_HISTORY,
    HISTORY_WEEKS,
    MilestoneRow,
    Plan,
    Tracked,
    TrackRow,
    make_plan,
    track,
)
from app.services.kpis.filters import Filters
from app.services.kpis.queries import deal_mask as scope_mask
from app.services.kpis.snapshot import ProcessInfo, Snapshot
from app.services.targets.periods import Period
from app.services.targets.public import (
    BreakdownTrack,
    MilestonePlan,
    MilestoneTrack,
    PlanStatus,
    PlanWeekPublic,
    RequiredMovement,
    TargetPlan,
    TargetPublic,
    TrackPublic,
)

__all__ = ["METHOD", "RULE", "target_plan"]

LOW, HIGH = CONFIDENCES
METHOD = (
    "gap = target - won - what the open deals are forecast to win inside the period. Each "
    "milestone's plan is the fewest deals that must reach it, spread evenly over the weeks in "
    "which a deal reaching it can still be won, for the target to be reached with probability "
    "50 % (p50) or 80 % (p80): a deal reaching milestone k in week w is won inside the period "
    "with the probability history shows (the forecast's fitted won-incidence curve from "
    "arrival at k, won and lost competing), each open deal already at k or beyond with its "
    "forecast probability (deals below k count once they reach it), and P(won >= target) is "
    "computed exactly (a Poisson-binomial, by convolution). Each milestone's plan closes the "
    "gap on its own: together they are the movement the target requires at every milestone. "
    "An amount target counts each new win at the process's mean won amount over the last 365 "
    "days (all its wins when fewer than 5), amounts in quarters of it. On track: every "
    "milestone has had, since the period started, at least the movement the 50 % plan made at "
    "the period's start asked for by now (the current week counted pro rata); ahead: the 80 % "
    "plan's."
)
RULE = (
    "Cannot be reached by new movement alone when no milestone has a plan within history's "
    "reach: at every milestone, either no deal reaching it from now on can be won inside the "
    f"period, or the 50 % plan asks in some week for more than {BEYOND_HISTORY:g} times the "
    f"most deals that reached it in any week of the last {HISTORY_WEEKS}."
)


@dataclass(frozen=True)
class _Scope:
    process: ProcessInfo
    mask: Bools
    process_mask: Bools
    names: dict[int, tuple[str, str]]
    """Position -> (milestone key, name); 0: created."""


def _scope(snapshot: Snapshot, target: TargetPublic) -> _Scope:
    alike = sorted(
        (p for p in snapshot.processes.values() if p.key == target.process), key=lambda p: p.id
    )
    if not alike:
        raise ConflictError(
            f"process {target.process!r} is in no active ruleset: activate rules that describe "
            "it, or remove the target"
        )
    process = alike[0]
    names = {0: ("created", "Opportunity created")}
    names.update({m.position: (m.key, m.name) for m in process.milestones})
    mask = scope_mask(
        snapshot, Filters(process=target.process, team=target.team, owner=target.owner)
    )
    return _Scope(process, mask, scope_mask(snapshot, Filters(process=target.process)), names)


def _make(snapshot: Snapshot, target: TargetPublic, scope: _Scope, *, at_start: bool) -> Plan:
    """The plan made now, or as made at the period's start (`at_start`)."""
    period = Period(target.period_kind, target.start)
    return make_plan(
        snapshot.columns,
        scope.mask,
        scope.process_mask,
        snapshot.derived.forecaster,
        scope.process.id,
        sorted(scope.names),
        target.metric,
        target.value,
        period.starts_at,
        period.ends_at,
        period.starts_at if at_start else snapshot.as_of,
    )


def _value(metric: str, value: float) -> str:
    return (
        f"{value:,.0f}" if metric == "amount" else f"{value:g} deal" + ("" if value == 1 else "s")
    )


def _weeks(weeks: Sequence[PlanWeek]) -> list[PlanWeekPublic]:
    return [PlanWeekPublic(week=w.week.date(), start=w.start, end=w.end) for w in weeks]


def _required(row: MilestoneRow, confidence: float) -> RequiredMovement | None:
    found = row.requirements.get(confidence)
    if found is None:
        return None
    return RequiredMovement(
        confidence=confidence,
        total=found.total,
        per_week=list(found.counts),
        chance=round(found.chance, 4),
        beyond_history=row.beyond_history(confidence),
    )


def _milestones(plan: Plan, scope: _Scope) -> list[MilestonePlan]:
    return [
        MilestonePlan(
            milestone=scope.names[row.position][0],
            name=scope.names[row.position][1],
            position=row.position,
            chances=[round(q, 4) for q in row.chances],
            open_forecast=round(row.open_expected, 2),
            busiest_week=row.busiest_week,
            p50=_required(row, LOW),
            p80=_required(row, HIGH),
        )
        for row in plan.rows
    ]


def _message(row: TrackRow, name: str) -> str:
    if row.status == "no_plan":
        return (
            f"{name}: no plan (a deal reaching it from the period's start could not close the gap)"
        )
    asked = row.required[LOW]
    if row.status == "behind":
        return (
            f"Behind by {row.behind_by} at {name} ({row.actual} so far, {asked} asked for by "
            f"now): {row.needed_this_week} more this week to be back on track"
        )
    state = "Ahead (on the 80 % plan)" if row.status == "ahead" else "On track"
    more = (
        f"{row.needed_this_week} more this week keep it so"
        if row.needed_this_week
        else "this week's share is done"
    )
    return f"{state} at {name} ({row.actual} so far, {asked} asked for by now): {more}"


def _tracks(tracked: Tracked, scope: _Scope) -> list[MilestoneTrack]:
    return [
        MilestoneTrack(
            milestone=scope.names[row.position][0],
            name=scope.names[row.position][1],
            position=row.position,
            actual=row.actual,
            required_p50=row.required.get(LOW),
            required_p80=row.required.get(HIGH),
            behind_by=row.behind_by,
            needed_this_week=row.needed_this_week,
            status=row.status,
            message=_message(row, scope.names[row.position][1]),
        )
        for row in tracked.rows
    ]


@dataclass(frozen=True)
class _Judged:
    current: Plan
    baseline: Plan | None
    tracked: Tracked | None
    status: PlanStatus
    reason: str | None
    summary: str


def _unreachable_reason(plan: Plan, scope: _Scope) -> str:
    if plan.units is None:
        return "no deal of this process was ever won: what a win is worth is unknown"
    if not any(q > 0.0 for row in plan.rows for q in row.chances):
        return (
            "no deal reaching any milestone from now on can be won before the period ends: "
            "the time left is shorter than history's ways to a win"
        )
    asks = []
    for row in plan.rows:
        found = row.requirements.get(LOW)
        if found is not None and found.total:
            asks.append(
                f"{scope.names[row.position][1]}: {found.busiest} in a week against "
                f"{row.busiest_week} at most"
            )
    return (
        "the 50 % plan asks for far more movement than history ever saw ("
        + ("; ".join(asks) or "no count suffices")
        + ")"
    )


def _judge(snapshot: Snapshot, target: TargetPublic, scope: _Scope) -> _Judged:
    period = Period(target.period_kind, target.start)
    now = snapshot.as_of
    current = _make(snapshot, target, scope, at_start=False)
    started = period.starts_at <= now
    baseline = _make(snapshot, target, scope, at_start=True) if started else None
    tracked = (
        track(baseline, snapshot.columns, scope.mask, min(now, period.ends_at))
        if baseline is not None
        else None
    )
    status: PlanStatus
    reason = None
    if current.reached:
        status = "reached"
    elif now >= period.ends_at:
        status = "missed"
    elif not current.reachable(LOW):
        status, reason = "unreachable", _unreachable_reason(current, scope)
    elif not started:
        status = "not_started"
    else:
        status = "on_track" if tracked is not None and tracked.on_track else "behind"
    metric = target.metric
    summary = f"{_value(metric, current.won)} won of {_value(metric, target.value)}" + (
        f"; the open deals are forecast to bring {_value(metric, current.open_expected)} "
        f"more; gap {_value(metric, current.gap)}"
        if status not in ("reached", "missed")
        else ""
    )
    lead = {
        "reached": "Reached",
        "missed": "Missed",
        "unreachable": "Cannot be reached by new movement alone",
        "not_started": f"Starts {period.start.isoformat()}",
        "on_track": "On track",
        "behind": "Behind",
    }[status]
    if status == "behind" and tracked is not None:
        behind = [
            f"{scope.names[row.position][1]} by {row.behind_by}"
            for row in tracked.rows
            if row.status == "behind"
        ]
        lead += " at " + ", ".join(behind)
    summary = f"{lead}: {summary}."
    if reason:
        summary += f" {reason[0].upper()}{reason[1:]}."
    return _Judged(current, baseline, tracked, status, reason, summary)


def _track_public(judged: _Judged, scope: _Scope) -> TrackPublic | None:
    if judged.baseline is None or judged.tracked is None:
        return None
    tracked = judged.tracked
    planned = any(row.status != "no_plan" for row in tracked.rows)
    return TrackPublic(
        since=judged.baseline.since,
        status=("on_track" if tracked.on_track else "behind") if planned else "no_plan",
        weeks=_weeks(judged.baseline.weeks),
        milestones=_tracks(tracked, scope),
    )


def target_plan(
    snapshot: Snapshot, target: TargetPublic, breakdown: Sequence[TargetPublic] = ()
) -> TargetPlan:
    """The plan for `target` at the snapshot's as-of, with the track of each team's or rep's
    target in `breakdown` (same process and period)."""
    scope = _scope(snapshot, target)
    judged = _judge(snapshot, target, scope)
    current = judged.current
    children = []
    for child in breakdown:
        child_scope = _scope(snapshot, child)
        child_judged = _judge(snapshot, child, child_scope)
        children.append(
            BreakdownTrack(
                target_id=child.id,
                team=child.team,
                owner=child.owner,
                value=child.value,
                won=round(child_judged.current.won, 2),
                status=child_judged.status,
                summary=child_judged.summary,
                milestones=_tracks(child_judged.tracked, child_scope)
                if child_judged.tracked is not None
                else [],
            )
        )
    period = Period(target.period_kind, target.start)
    return TargetPlan(
        target=target,
        as_of=snapshot.as_of,
        period_start=period.starts_at,
        period_end=period.ends_at,
        status=judged.status,
        summary=judged.summary,
        won=round(current.won, 2),
        won_deals=current.won_deals,
        remaining=round(current.remaining, 2),
        open_forecast=round(current.open_expected, 2),
        gap=round(current.gap, 2),
        win_value=None if current.win_value is None else round(current.win_value, 2),
        wins_needed=current.wins_needed,
        reachable=judged.status != "unreachable",
        unreachable_reason=judged.reason,
        weeks=_weeks(current.weeks),
        milestones=_milestones(current, scope),
        track=_track_public(judged, scope),
        breakdown=children,
        method=METHOD,
        rule=RULE,
    )
