"""The KPIs of DESIGN.md over a `Snapshot` of opportunity state, with the filters every KPI
takes (process, segment, owner, team, connection, period). Pure reads that answer with the
typed models of `answers` and `rows`, which the API and the CLI print as they are; the math
lives in `app.kpis`.

Each KPI turns the filters into a mask over the snapshot's columns and sums what the snapshot
already holds per opportunity (position, days at it, win probability, monthly P(won)), so an
answer over 100,000 opportunities takes milliseconds. "Now" is the snapshot's `as_of`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from app.core.errors import NotFoundError
from app.kpis.columns import (
    Bools,
    Floats,
    Ints,
    aj_arrays,
    conversion_presorted,
    epoch,
    instant,
)
from app.kpis.conversion import WON_TARGET
from app.kpis.forecast import (
    Moments,
    creation_rates,
    forecast_close_month,
    month_windows,
    new_moments,
    probability_moments,
    window_offsets,
)
from app.kpis.history import DAY, DealHistory, days_between
from app.kpis.sufficiency import Sufficiency, closing_median, sufficiency
from app.services.kpis.answers import (
    BandCalibration,
    Bucket,
    ConversionAnswer,
    ForecastAnswer,
    ForecastMonth,
    FunnelAnswer,
    FunnelStep,
    MovementAnswer,
    ProcessFunnel,
    ProcessHalfLife,
    ProcessMovement,
    ProcessVelocity,
    RepMovement,
    Scorecard,
    TeamMovement,
    VelocityAnswer,
    VelocityStep,
)
from app.services.kpis.breakdowns import MilestoneForecast, RankedPage, RepStep, WinPoint
from app.services.kpis.filters import Filters
from app.services.kpis.rows import OpportunityKpis, OpportunityPage
from app.services.kpis.snapshot import DealInfo, ProcessInfo, Snapshot

__all__ = [
    "Bucket",
    "Filters",
    "deal_mask",
    "forecast_by_milestone",
    "forecast_kpi",
    "funnel",
    "half_lives_used",
    "history_sufficiency",
    "latest_steps",
    "movement",
    "next_step",
    "opportunity_detail",
    "opportunity_page",
    "opportunity_row",
    "process_groups",
    "scorecard",
    "selected_keys",
    "stalled_at_risk",
    "velocity",
    "win_probability_path",
]

EPOCH_DAY = date(1970, 1, 1)
DORMANT_QUANTILE = 0.95
"""A deal longer at its milestone than this share of deals ever stayed is told to revive or
close, not given the milestone's usual method."""

CENSORING_NOTE = (
    "Open opportunities are censored, not counted as failures: conversion is the plateau of "
    "an Aalen-Johansen cumulative incidence from the day each opportunity reached the "
    "milestone, reaching the target competing with closing without it."
)
AS_OF_NOTE = (
    "as_of is the data's own clock: the CRM's time when its last successful sync finished "
    "(the wall clock then for a live CRM, the history's time for a replayed one), unless "
    "MILESTONES_KPI_AS_OF sets it; data_age_seconds is how long ago that sync finished. At a "
    "past instant (MILESTONES_KPI_AS_OF, or the as_of parameter) the answer is what an export "
    "taken then would give."
)


def _mask(snapshot: Snapshot, filters: Filters) -> Bools:
    """Deals matching every filter but the period, with a process of an active version."""
    cols, labels = snapshot.columns, snapshot.labels
    processes = [
        p.id
        for p in snapshot.processes.values()
        if filters.process is None or p.key == filters.process
    ]
    mask: Bools = np.isin(cols.process, np.array(processes, dtype=np.int64))
    if filters.segment is not None:
        wanted = filters.segment.lower()
        segments = [i for i, s in enumerate(labels.segments) if s.lower() == wanted]
        mask &= np.isin(cols.segment, segments)
    if filters.team is not None:
        mask &= np.isin(cols.team, [i for i, t in enumerate(labels.teams) if t == filters.team])
    if filters.owner is not None:
        mask &= np.isin(cols.owner, labels.owners_with_external_id(filters.owner))
    if filters.connection is not None:
        names = labels.connection_names
        mask &= np.isin(
            cols.connection, [i for i, c in enumerate(names) if c == filters.connection]
        )
    return mask


deal_mask = _mask
"""Deals matching every filter but the period (for the KPIs of other packages)."""


def selected_keys(snapshot: Snapshot, filters: Filters) -> set[int]:
    """Opportunity ids matching every filter but the period (the backtest's selection)."""
    return {int(key) for key in snapshot.columns.key[_mask(snapshot, filters)]}


@dataclass(frozen=True)
class _ProcessGroup:
    """Processes alike (same key, same milestones) from the rulesets active on different
    connections, counted together; `info` is the first of them."""

    info: ProcessInfo
    ids: Ints
    versions: list[int]


def _processes(snapshot: Snapshot, filters: Filters) -> list[_ProcessGroup]:
    alike: dict[tuple[object, ...], list[ProcessInfo]] = {}
    for process in sorted(snapshot.processes.values(), key=lambda p: (p.key, p.id)):
        if filters.process is None or process.key == filters.process:
            shape = tuple((m.position, m.key) for m in process.milestones)
            alike.setdefault((process.key, shape), []).append(process)
    return [
        _ProcessGroup(
            group[0],
            np.array([p.id for p in group], dtype=np.int64),
            sorted({p.version for p in group}),
        )
        for group in alike.values()
    ]


process_groups = _processes
"""The selected processes, alike ones counted together (for the KPIs of other packages)."""


# -- funnel ---------------------------------------------------------------------------------------


def funnel(snapshot: Snapshot, filters: Filters) -> FunnelAnswer:
    cols = snapshot.columns
    mask = _mask(snapshot, filters)
    result = []
    for group in _processes(snapshot, filters):
        process = group.info
        members = mask & np.isin(cols.process, group.ids)
        steps: list[FunnelStep] = []
        positions = [(0, None)] + [(m.position, m) for m in process.milestones]
        for index, (position, milestone) in enumerate(positions):
            if position >= cols.positions:
                cohort = np.zeros(len(cols), dtype=bool)
            else:
                at = cols.reach[:, position]
                cohort = members & ~np.isnan(at)
                if filters.periodic:
                    cohort &= filters.period_mask(at)
            following = positions[index + 1] if index + 1 < len(positions) else None
            to_next = (
                ConversionAnswer.of(
                    conversion_presorted(snapshot.conversion_table(position, following[0]), cohort)
                )
                if following
                else None
            )
            to_won = conversion_presorted(snapshot.conversion_table(position, WON_TARGET), cohort)
            steps.append(
                FunnelStep(
                    milestone=milestone.key if milestone else "created",
                    name=milestone.name if milestone else "Opportunity created",
                    position=position,
                    kind=milestone.kind if milestone else None,
                    reached=int(cohort.sum()),
                    conversion_to_next=to_next,
                    next_milestone=following[1].key if following and following[1] else None,
                    conversion_to_won=ConversionAnswer.of(to_won),
                )
            )
        result.append(ProcessFunnel(process.key, process.name, steps, group.versions))
    return FunnelAnswer(
        filters=filters,
        as_of=snapshot.as_of,
        as_of_source=AS_OF_NOTE,
        method="aalen-johansen",
        censoring=CENSORING_NOTE,
        processes=result,
    )


# -- movement -------------------------------------------------------------------------------------


def bucket_start(moment: datetime, by: Bucket) -> date:
    day = moment.date()
    if by == "week":
        return day - timedelta(days=day.weekday())
    return date(day.year, day.month, 1)


def _bucket_days(moments: Floats, by: Bucket) -> Ints:
    """Days since the epoch of each instant's week (Monday) or month start."""
    days = np.floor(moments / DAY).astype(np.int64)
    if by == "week":
        return days - (days + 3) % 7
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def default_period(by: Bucket, now: datetime) -> tuple[datetime, datetime]:
    if by == "week":
        start = bucket_start(now, "week") - timedelta(weeks=7)
    else:
        first = bucket_start(now, "month")
        month = first.month - 5
        start = date(first.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return datetime(start.year, start.month, start.day, tzinfo=UTC), now + timedelta(seconds=1)


@dataclass
class _Advances:
    row: Ints
    position: Ints
    at: Floats
    gain: Floats


def _advances(snapshot: Snapshot, mask: Bools, start: float, end: float) -> _Advances:
    """Milestones first reached in [start, end) above every earlier one, with their value."""
    cols, model = snapshot.columns, snapshot.derived.forecaster
    records = cols.records()
    previous = np.zeros(len(cols), dtype=np.int64)
    parts: list[tuple[Ints, Ints, Floats, Floats]] = []
    wins: dict[tuple[int, int], float] = {}

    def win(process: int, position: int) -> float:
        if (process, position) not in wins:
            wins[(process, position)] = model.arrival_win(process, position).value
        return wins[(process, position)]

    for p in range(1, cols.positions):
        at = cols.reach[:, p]
        hit = mask & records[:, p] & (at >= start) & (at < end)
        rows = np.nonzero(hit)[0]
        if rows.shape[0]:
            processes = cols.process[rows]
            before = previous[rows]
            pairs, inverse = np.unique(
                np.stack([processes, before], axis=1), axis=0, return_inverse=True
            )
            delta = np.array([win(q, p) - win(q, b) for q, b in pairs.tolist()])
            gain = delta[inverse.reshape(-1)] * cols.amount[rows]
            parts.append((rows, np.full(rows.shape[0], p, dtype=np.int64), at[rows], gain))
        previous = np.where(records[:, p], p, previous)
    if not parts:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return _Advances(empty_i, empty_i, empty_f, empty_f)
    return _Advances(*(np.concatenate([part[k] for part in parts]) for k in range(4)))


def _grouped(found: _Advances, buckets: Ints, index: Ints) -> list[tuple[date, int, int, float]]:
    """(period, group, advances, progress value) of each period and group with an advance."""
    if not index.shape[0]:
        return []
    pairs, inverse = np.unique(np.stack([buckets, index], axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=pairs.shape[0])
    values = np.bincount(inverse, weights=found.gain, minlength=pairs.shape[0])
    return [
        (EPOCH_DAY + timedelta(days=day), i, int(count), round(value, 2))
        for (day, i), count, value in zip(
            pairs.tolist(), counts.tolist(), values.tolist(), strict=True
        )
    ]


def movement(snapshot: Snapshot, filters: Filters, by: Bucket) -> MovementAnswer:
    now = snapshot.as_of
    start, end = filters.start, filters.end
    if start is None or end is None:
        default_start, default_end = default_period(by, now)
        start, end = start or default_start, end or default_end
    cols, labels = snapshot.columns, snapshot.labels
    found = _advances(snapshot, _mask(snapshot, filters), epoch(start), epoch(end))
    buckets = _bucket_days(found.at, by)
    keys = sorted({p.key for p in snapshot.processes.values()})
    key_of = {p.id: keys.index(p.key) for p in snapshot.processes.values()}
    process_keys = np.array([key_of.get(p, -1) for p in cols.process[found.row].tolist()])
    per_rep = [
        RepMovement(
            period,
            labels.owner_external[i] if i >= 0 else None,
            count,
            value,
            labels.owner_names[i] if i >= 0 else None,
        )
        for period, i, count, value in _grouped(found, buckets, cols.owner[found.row])
    ]
    per_team = [
        TeamMovement(period, labels.teams[i] if i >= 0 else None, count, value)
        for period, i, count, value in _grouped(found, buckets, cols.team[found.row])
    ]
    per_process = [
        ProcessMovement(period, keys[i] if i >= 0 else None, count, value)
        for period, i, count, value in _grouped(found, buckets, process_keys.astype(np.int64))
    ]
    per_rep.sort(key=lambda r: (r.period, r.rep or ""))
    per_team.sort(key=lambda r: (r.period, r.team or ""))
    per_process.sort(key=lambda r: (r.period, r.process or ""))
    return MovementAnswer(
        filters=filters,
        by=by,
        start=start,
        end=end,
        as_of=now,
        progress_value="sum over milestone advances of (P(win | new milestone) - "
        "P(win | previous milestone)) * amount, P(win | milestone) being the win probability "
        "on arrival, non-decreasing along the process (isotonic): a step forward never "
        "lowers it",
        per_rep=per_rep,
        per_team=per_team,
        per_process=per_process,
    )


# -- velocity -------------------------------------------------------------------------------------


def velocity(snapshot: Snapshot, filters: Filters) -> VelocityAnswer:
    now = snapshot.as_of
    cols = snapshot.columns
    rows = np.nonzero(_mask(snapshot, filters))[0]
    stays = cols.stays(epoch(now), rows)
    keep = filters.period_mask(stays.start) if filters.periodic else None
    causes = np.select([stays.ending == 3, stays.ending == 0], [1, 0], 2).astype(np.int64)
    durations = np.round(np.maximum(0.0, (stays.end - stays.start) / DAY) * 4) / 4
    process_of = cols.process[stays.row]
    result = []
    for group in _processes(snapshot, filters):
        process, members = group.info, np.isin(process_of, group.ids)
        steps = []
        positions = [(0, "created")] + [(m.position, m.key) for m in process.milestones]
        for index, (position, key) in enumerate(positions[:-1]):
            sel = members & (stays.position == position)
            if keep is not None:
                sel &= keep
            curve = aj_arrays(durations[sel], causes[sel], (1, 2)) if sel.any() else None
            steps.append(
                VelocityStep(
                    from_=key,
                    to=positions[index + 1][1],
                    median_days=curve.quantile(1, 0.5, among_cause=True) if curve else None,
                    p80_days=curve.quantile(1, 0.8, among_cause=True) if curve else None,
                    sample=curve.size if curve else 0,
                    advanced=curve.counts.get(1, 0) if curve else 0,
                    closed_without_advancing=curve.counts.get(2, 0) if curve else 0,
                    open_censored=curve.counts.get(0, 0) if curve else 0,
                )
            )
        result.append(
            ProcessVelocity(
                process=process.key,
                name=process.name,
                steps=steps,
                ruleset_versions=group.versions,
            )
        )
    return VelocityAnswer(
        filters=filters,
        as_of=now,
        method="Days from reaching a milestone to reaching a later one, among opportunities "
        "that advance: quantiles of the Aalen-Johansen cumulative incidence of advancing "
        "(closing without advancing competes; open opportunities are censored).",
        processes=result,
    )


# -- stalled and opportunities --------------------------------------------------------------------


def _row(snapshot: Snapshot, row: int) -> OpportunityKpis:
    cols, labels, derived = snapshot.columns, snapshot.labels, snapshot.derived
    process = snapshot.processes[int(cols.process[row])]
    threshold = float(derived.threshold[row])
    owner, team, segment, connection = (
        int(cols.owner[row]),
        int(cols.team[row]),
        int(cols.segment[row]),
        int(cols.connection[row]),
    )
    last = float(snapshot.last_action[row])
    outcome = ("open", "won", "lost")[int(cols.outcome[row])]
    closed = None if np.isnan(cols.closed[row]) else instant(float(cols.closed[row]))
    return OpportunityKpis(
        id=int(cols.key[row]),
        external_id=snapshot.external_ids[row],
        name=snapshot.names[row],
        connection=labels.connection_names[connection] if connection >= 0 else None,
        process=process.key,
        segment=labels.segments[segment] if segment >= 0 else None,
        owner=labels.owner_external[owner] if owner >= 0 else None,
        owner_name=labels.owner_names[owner] if owner >= 0 else None,
        team=labels.teams[team] if team >= 0 else None,
        last_customer_action_at=None if np.isnan(last) else instant(last),
        stalled=bool(derived.stalled[row]),
        stall_threshold_days=None if np.isnan(threshold) else threshold,
        **_standing(
            snapshot,
            process,
            int(derived.position[row]),
            float(derived.days_at[row]),
            snapshot.as_of,
            outcome,
            closed,
            float(derived.win[row]),
            float(cols.amount[row]),
            int(derived.based_on[row]),
        ),
    )


def _standing(
    snapshot: Snapshot,
    process: ProcessInfo,
    position: int,
    days_at: float,
    now: datetime,
    outcome: str,
    closed_at: datetime | None,
    probability: float,
    amount: float,
    based_on: int,
) -> dict[str, Any]:
    """Where a deal stands, the same for the view's rows and write-back's: its milestone, days
    there, win probability and expected value, forecast month, next milestone and next step."""
    current, following = process.at(position), process.after(position)
    return {
        "outcome": outcome,
        "amount": amount,
        "milestone": current.key if current else "created",
        "milestone_name": current.name if current else None,
        "position": position,
        # whole tenths that have passed: rounded up, 710.96 days would read 711.0 and the CRM
        # field, the whole days, 711 a day early
        "days_at_milestone": math.floor(days_at * 10) / 10,
        "forecast_close_month": _close_month(
            snapshot, process.id, position, days_at, now, outcome, closed_at
        ),
        "win_probability": round(probability, 4),
        "win_probability_based_on_deals": based_on if outcome == "open" else None,
        "expected_value": round(probability * amount, 2),
        "next_milestone": following.key if following and outcome == "open" else None,
        "guidance": next_step(snapshot, process, position, outcome, days_at),
    }


def next_step(
    snapshot: Snapshot, process: ProcessInfo, position: int, outcome: str, days_at: float
) -> str:
    """What to do next: the milestone's method (the HOW); for a deal stalled far beyond the
    time in which nearly every deal at its milestone moved on or closed, revive or close; for
    a closed deal, nothing."""
    if outcome != "open":
        return ""
    dormant = snapshot.model.stall_threshold(process.id, position, quantile=DORMANT_QUANTILE)
    if dormant is not None and days_at > dormant:
        return (
            f"No customer movement for {days_at:.0f} days, far beyond the {dormant:.0f} days in "
            f"which {DORMANT_QUANTILE:.0%} of deals at this milestone moved on or closed: revive "
            "it with a direct question to the decision-maker, or close it as lost."
        )
    current, following = process.at(position), process.after(position)
    return current.guidance if current else (following.guidance if following else "")


def _close_month(
    snapshot: Snapshot,
    process: int | None,
    position: int,
    days_at: float,
    now: datetime,
    outcome: str,
    closed_at: datetime | None,
) -> date | None:
    """The forecast month of winning (open), the month it was won, or None (lost)."""
    if outcome == "open":
        month = forecast_close_month(snapshot.derived.forecaster, process, position, days_at, now)
    elif outcome == "won" and closed_at is not None:
        month = date(closed_at.year, closed_at.month, 1)
    else:
        month = None
    return month


def _selection(
    snapshot: Snapshot,
    filters: Filters,
    outcome: str | None = None,
    only_stalled: bool = False,
) -> Ints:
    """Rows matching, in id order."""
    cols = snapshot.columns
    mask = _mask(snapshot, filters)
    if outcome is not None:
        mask &= cols.outcome == ("open", "won", "lost").index(outcome)
    if filters.periodic:
        mask &= filters.period_mask(cols.created)
    if only_stalled:
        mask &= snapshot.derived.stalled
    rows = np.nonzero(mask)[0]
    return rows[np.argsort(cols.key[rows], kind="stable")]


def opportunity_page(
    snapshot: Snapshot,
    filters: Filters,
    *,
    outcome: str | None = None,
    only_stalled: bool = False,
    limit: int = 100,
    after: int = 0,
) -> OpportunityPage:
    """One page of opportunity rows in id order, after the id `after`."""
    rows = _selection(snapshot, filters, outcome, only_stalled)
    keys = snapshot.columns.key[rows]
    start = int(np.searchsorted(keys, after, side="right"))
    chosen = rows[start : start + limit]
    more = start + limit < rows.shape[0]
    data = [_row(snapshot, int(r)) for r in chosen.tolist()]
    return OpportunityPage(data, int(rows.shape[0]), data[-1].id if more and data else None)


def opportunity_detail(snapshot: Snapshot, opportunity_id: int) -> OpportunityKpis:
    """The row of one opportunity in an active process (NotFoundError otherwise)."""
    row = snapshot.row_of.get(opportunity_id)
    if row is None or int(snapshot.columns.process[row]) not in snapshot.processes:
        raise NotFoundError(f"no opportunity with id {opportunity_id}")
    return _row(snapshot, row)


def opportunity_row(
    snapshot: Snapshot, deal: DealHistory, info: DealInfo, process: ProcessInfo, now: datetime
) -> OpportunityKpis:
    """One opportunity's row at any `now`, from its history (write-back computes with this)."""
    position, _ = deal.position_at(now)
    until = now if deal.is_open or deal.closed_at is None else min(now, deal.closed_at)
    days_at = max(0.0, days_between(info.current_since, until))  # closed deals stop ageing
    probability, based_on = 1.0 if deal.outcome == "won" else 0.0, 0
    if deal.is_open:
        found, deals = snapshot.derived.forecaster.eventual(
            deal.process, position, np.array([days_at]), np.array([deal.amount])
        )
        probability, based_on = float(found[0]), int(deals[0])
    threshold = snapshot.model.stall_threshold(deal.process, position) if deal.is_open else None
    return OpportunityKpis(
        id=deal.key,
        external_id=info.external_id,
        name=info.name,
        connection=info.connection,
        process=process.key,
        segment=deal.segment,
        owner=info.owner_external_id,
        owner_name=info.owner_name,
        team=deal.team,
        last_customer_action_at=deal.last_action_at,
        stalled=threshold is not None and days_at > threshold,
        stall_threshold_days=threshold,
        **_standing(
            snapshot,
            process,
            position,
            days_at,
            now,
            deal.outcome,
            deal.closed_at,
            probability,
            deal.amount,
            based_on,
        ),
    )


# -- forecast -------------------------------------------------------------------------------------


def forecast_kpi(
    snapshot: Snapshot,
    filters: Filters,
    months: int,
    new_pipeline: bool = True,
    calibration: BandCalibration | None = None,
) -> ForecastAnswer:
    """The months ahead with their P10-P90 band, drawn with `calibration`'s correction of the
    total (none: the model's own band)."""
    now = snapshot.as_of
    cols, derived = snapshot.columns, snapshot.derived
    windows = month_windows(now, months)
    mask = _mask(snapshot, filters)
    open_rows = np.nonzero(mask & (cols.outcome == 0))[0]
    amount = cols.amount[open_rows]
    groups = cols.process[open_rows] * (cols.positions + 1) + derived.position[open_rows]
    opened = probability_moments(
        (
            (
                amount[members],
                derived.month_p[open_rows[members], :months],
                derived.evidence[open_rows[members]],
            )
            for members in (groups == g for g in np.unique(groups).tolist())
        ),
        months,
    )
    created = Moments.zeros(months)
    if new_pipeline:
        chosen = selected_keys(snapshot, filters)
        rates = creation_rates((d for k, d in snapshot.deals.items() if k in chosen), now)
        created = new_moments(rates, derived.forecaster, window_offsets(now, windows))
    rows = (opened + created).rows(windows)
    if calibration is not None:
        totals = [c for c in calibration.corrections if c.part == "total" and not c.cumulative]
        scales = {c.horizon_months: c.scale for c in totals}
        pooled = totals[0].prior_scale if totals else 1.0  # a month no past origin reached
        rows = [row.calibrated(scales.get(i + 1, pooled)) for i, row in enumerate(rows)]
    months_index = {w.month.year * 12 + w.month.month - 1: i for i, w in enumerate(windows)}
    need = history_sufficiency(snapshot, filters)
    weighted = amount * np.nan_to_num(snapshot.stage_probability[open_rows], nan=0.0) / 100.0
    baseline = [0.0] * months
    closing = snapshot.close_month[open_rows]
    for month, i in months_index.items():
        baseline[i] = float(weighted[closing == month].sum())
    return ForecastAnswer(
        filters=filters,
        as_of=now,
        open_opportunities=int(open_rows.shape[0]),
        includes_new_pipeline=new_pipeline,
        method="Sum over open opportunities of amount * P(won in the month | milestone, days "
        "at it, deal size), from history (won and lost competing; recent deals weigh more, "
        "thin cells borrow from the same milestone a few days earlier); plus expected wins of "
        "opportunities not yet created at the recent creation rate (recent weeks weigh "
        "most). Band P10-P90: each deal's outcome, the estimated rates' uncertainty and the "
        "arrival noise of new pipeline, widened or narrowed per month ahead so that it would "
        "have held 80 % of the outcomes at the backtest's past origins (band_calibration). "
        "No close dates, no stage probabilities. Each process's recency half-life is in "
        "half_lives (set by ops, chosen by backtest, or the default).",
        baseline_method="CRM weighted pipeline: amount * stage probability of open "
        "opportunities whose close date falls in the month.",
        months=[ForecastMonth.of(row, baseline[i]) for i, row in enumerate(rows)],
        by_milestone=[m for m in forecast_by_milestone(snapshot, filters, months) if m.deals],
        too_little_history=None if need is None else need.shortfall(),
        closed_deals_needed=None if need is None else need.needed,
        half_lives=half_lives_used(snapshot, filters),
        band_calibration=calibration,
    )


def half_lives_used(snapshot: Snapshot, filters: Filters) -> list[ProcessHalfLife]:
    """The recency half-life each selected process's model used, and why."""
    found = []
    for process in sorted(snapshot.processes.values(), key=lambda p: (p.key, p.id)):
        chosen = snapshot.half_lives.get(process.id)
        if chosen is not None and (filters.process is None or process.key == filters.process):
            days = None if chosen.days is None else round(chosen.days, 1)
            found.append(ProcessHalfLife(process.key, process.version, days, chosen.why))
    return found


def history_sufficiency(snapshot: Snapshot, filters: Filters) -> Sufficiency | None:
    """How much history the forecast of the processes of the selected deals needs
    (`sufficiency`: from the win rates all their closed deals show at the milestones they
    reached before closing); None
    without a deal."""
    cols = snapshot.columns
    processes = np.isin(cols.process, np.unique(cols.process[_mask(snapshot, filters)]))
    if not processes.any():
        return None
    rows = np.nonzero(processes)[0]
    ended = cols.outcome[rows] != 0
    until = np.where(ended, cols.closed[rows], epoch(snapshot.as_of))
    closing = closing_median((until - cols.created[rows]) / DAY, ended)
    closed = rows[ended]
    reached = cols.reach[closed] <= cols.closed[closed][:, None]  # NaN: never reached
    return sufficiency(cols.process[closed], reached, cols.outcome[closed] == 1, closing)


# -- scorecard ------------------------------------------------------------------------------------


def scorecard(snapshot: Snapshot, owner: str) -> Scorecard:
    now = snapshot.as_of
    mask = _mask(snapshot, Filters(owner=owner))
    owners = snapshot.labels.owners_with_external_id(owner)
    if not mask.any() and not owners:
        raise NotFoundError(f"no rep with id {owner!r}")
    end = epoch(now + timedelta(seconds=1))
    progress: list[tuple[float, int]] = []
    buckets: tuple[Bucket, ...] = ("week", "month")
    for by in buckets:
        day = bucket_start(now, by)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        found = _advances(snapshot, mask, epoch(start), end)
        progress.append((round(float(found.gain.sum()), 2), int(found.row.shape[0])))
    (week_value, week_advances), (month_value, month_advances) = progress
    open_rows = _selection(snapshot, Filters(owner=owner), outcome="open")
    rows = [_row(snapshot, int(r)) for r in open_rows.tolist()]
    return Scorecard(
        rep=owner,
        as_of=now,
        rep_name=snapshot.labels.owner_names[owners[0]] if owners and mask.any() else None,
        progress_value_week=week_value,
        advances_week=week_advances,
        progress_value_month=month_value,
        advances_month=month_advances,
        open_opportunities=len(rows),
        expected_value_open=round(sum(r.expected_value for r in rows), 2),
        stalled=[r for r in rows if r.stalled],
    )


# -- breakdowns the web app shows -----------------------------------------------------------------


def stalled_at_risk(
    snapshot: Snapshot, filters: Filters, *, limit: int = 50, offset: int = 0
) -> RankedPage:
    """Stalled open opportunities, the largest expected value at risk (win probability *
    amount) first; ties in id order."""
    rows = _selection(snapshot, filters, outcome="open", only_stalled=True)
    value = snapshot.derived.win[rows] * snapshot.columns.amount[rows]
    ranked = rows[np.lexsort((snapshot.columns.key[rows], -value))]
    chosen = ranked[offset : offset + limit]
    return RankedPage([_row(snapshot, int(r)) for r in chosen.tolist()], int(rows.shape[0]), offset)


def forecast_by_milestone(
    snapshot: Snapshot, filters: Filters, months: int
) -> list[MilestoneForecast]:
    """The open pipeline's part of `forecast_kpi`, split by the milestone each deal stands at
    (the same monthly P(won) per deal, summed per milestone instead of over all)."""
    cols, derived = snapshot.columns, snapshot.derived
    open_deals = _mask(snapshot, filters) & (cols.outcome == 0)
    found = []
    for group in _processes(snapshot, filters):
        members = open_deals & np.isin(cols.process, group.ids)
        process = group.info
        stops = [(0, "created", "Opportunity created")] + [
            (m.position, m.key, m.name) for m in process.milestones
        ]
        for position, key, name in stops:
            rows = np.nonzero(members & (derived.position == position))[0]
            amounts = cols.amount[rows] @ derived.month_p[rows, :months]
            found.append(
                MilestoneForecast(
                    process.key,
                    process.name,
                    key,
                    name,
                    position,
                    int(rows.shape[0]),
                    [round(float(a), 2) for a in np.atleast_1d(amounts).tolist()],
                )
            )
    return found


def latest_steps(
    snapshot: Snapshot, filters: Filters, *, limit: int = 10, days: int = 90
) -> list[RepStep]:
    """The latest steps forward in the last `days` (newest first): which customer reached
    which milestone, and the progress value it added (as `movement` counts it)."""
    now = snapshot.as_of
    found = _advances(
        snapshot,
        _mask(snapshot, filters),
        epoch(now - timedelta(days=days)),
        epoch(now + timedelta(seconds=1)),
    )
    order = np.argsort(-found.at, kind="stable")[:limit]
    cols, labels = snapshot.columns, snapshot.labels
    steps = []
    for i in order.tolist():
        row, position = int(found.row[i]), int(found.position[i])
        milestone = snapshot.processes[int(cols.process[row])].at(position)
        owner = int(cols.owner[row])
        steps.append(
            RepStep(
                opportunity_id=int(cols.key[row]),
                opportunity=snapshot.names[row],
                owner=labels.owner_external[owner] if owner >= 0 else None,
                milestone=milestone.key if milestone else str(position),
                milestone_name=milestone.name if milestone else str(position),
                kind=milestone.kind if milestone else "",
                occurred_at=instant(float(found.at[i])),
                progress_value=round(float(found.gain[i]), 2),
            )
        )
    return steps


def win_probability_path(
    snapshot: Snapshot, opportunity_id: int, points: int = 48
) -> list[WinPoint]:
    """A deal's P(won eventually) from its creation to now (or its close), by the current
    model: at evenly spaced instants and just after each milestone it reached."""
    row = snapshot.row_of.get(opportunity_id)
    if row is None or int(snapshot.columns.process[row]) not in snapshot.processes:
        raise NotFoundError(f"no opportunity with id {opportunity_id}")
    deal = snapshot.history(row)
    now = snapshot.as_of
    end = now if deal.is_open or deal.closed_at is None else min(now, deal.closed_at)
    span = max(0.0, (end - deal.created_at).total_seconds())
    moments = {deal.created_at + timedelta(seconds=span * i / points) for i in range(points + 1)}
    moments |= {at for _, at in deal.reached if at <= end}
    path = []
    for moment in sorted(moments):
        position, since = deal.position_at(moment)
        found, _ = snapshot.derived.forecaster.eventual(
            deal.process,
            position,
            np.array([days_between(since, moment)]),
            np.array([deal.amount]),
        )
        path.append(WinPoint(moment, position, round(float(found[0]), 4)))
    if not deal.is_open and deal.closed_at is not None and deal.closed_at <= now:
        final = 1.0 if deal.outcome == "won" else 0.0
        path.append(WinPoint(deal.closed_at, path[-1].position if path else 0, final))
    return path
