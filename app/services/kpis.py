"""The KPIs of DESIGN.md over a `Snapshot` of opportunity state, with the filters every KPI
takes (process, segment, owner, team, connection, period). Pure reads: the API and the CLI
call these and shape the answer; the math lives in `app.kpis`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from app.errors import NotFoundError
from app.kpis.conversion import WON_TARGET, conversion
from app.kpis.forecast import (
    OpenDeal,
    PipelineDeal,
    creation_rates,
    forecast,
    month_windows,
    weighted_pipeline,
)
from app.kpis.history import DealHistory, days_between
from app.kpis.incidence import CENSORED, aalen_johansen_counts
from app.kpis.progress import advances
from app.models.base import utcnow
from app.services.kpi_store import DealInfo, ProcessInfo, Snapshot

__all__ = [
    "Filters",
    "forecast_kpi",
    "funnel",
    "movement",
    "opportunity_rows",
    "scorecard",
    "stalled",
    "velocity",
]

Bucket = Literal["week", "month"]
CENSORING_NOTE = (
    "Open opportunities are censored, not counted as failures: conversion is the plateau of "
    "an Aalen-Johansen cumulative incidence from the day each opportunity reached the "
    "milestone, reaching the target competing with closing without it."
)


@dataclass(frozen=True)
class Filters:
    process: str | None = None
    segment: str | None = None
    owner: str | None = None
    """The owner's CRM id (Salesforce user id, HubSpot owner id)."""
    team: str | None = None
    connection: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def key(self) -> tuple[Any, ...]:
        return (
            self.process,
            self.segment,
            self.owner,
            self.team,
            self.connection,
            self.start,
            self.end,
        )

    def in_period(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end

    def as_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "segment": self.segment,
            "owner": self.owner,
            "team": self.team,
            "connection": self.connection,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }


def _select(
    snapshot: Snapshot, filters: Filters
) -> Iterator[tuple[DealHistory, DealInfo, ProcessInfo]]:
    """Deals matching every filter but the period, with a process in the active version."""
    process_id: int | None = None
    if filters.process is not None:
        found = snapshot.process_by_key(filters.process)
        if found is None:
            return
        process_id = found.id
    for key, deal in snapshot.deals.items():
        if deal.process is None or (process_id is not None and deal.process != process_id):
            continue
        process = snapshot.processes.get(deal.process)
        if process is None:
            continue
        if filters.segment is not None and (deal.segment or "").lower() != filters.segment.lower():
            continue
        if filters.team is not None and deal.team != filters.team:
            continue
        info = snapshot.info[key]
        if filters.owner is not None and info.owner_external_id != filters.owner:
            continue
        if filters.connection is not None and info.connection != filters.connection:
            continue
        yield deal, info, process


def _processes(snapshot: Snapshot, filters: Filters) -> list[ProcessInfo]:
    ordered = sorted(snapshot.processes.values(), key=lambda p: p.key)
    if filters.process is not None:
        return [p for p in ordered if p.key == filters.process]
    return ordered


# -- funnel ---------------------------------------------------------------------------------------


def funnel(snapshot: Snapshot, filters: Filters) -> dict[str, Any]:
    now = utcnow()
    by_process: dict[int, list[DealHistory]] = {}
    for deal, _, process in _select(snapshot, filters):
        by_process.setdefault(process.id, []).append(deal)
    result = []
    for process in _processes(snapshot, filters):
        deals = by_process.get(process.id, [])
        steps: list[dict[str, Any]] = []
        positions = [(0, None)] + [(m.position, m) for m in process.milestones]
        for index, (position, milestone) in enumerate(positions):
            if position == 0:
                cohort = (
                    [d for d in deals if filters.in_period(d.created_at)]
                    if (filters.start or filters.end)
                    else deals
                )
            else:
                cohort = [
                    d
                    for d in deals
                    if (at := d.first_reached(position)) is not None
                    and (not (filters.start or filters.end) or filters.in_period(at))
                ]
            following = positions[index + 1] if index + 1 < len(positions) else None
            to_next = (
                conversion(cohort, position, following[0], now).as_dict() if following else None
            )
            steps.append(
                {
                    "milestone": milestone.key if milestone else "created",
                    "name": milestone.name if milestone else "Opportunity created",
                    "position": position,
                    "kind": milestone.kind if milestone else None,
                    "reached": len(cohort),
                    "conversion_to_next": to_next,
                    "next_milestone": following[1].key if following and following[1] else None,
                    "conversion_to_won": conversion(cohort, position, WON_TARGET, now).as_dict(),
                }
            )
        result.append({"process": process.key, "name": process.name, "milestones": steps})
    return {
        "filters": filters.as_dict(),
        "as_of": now.isoformat(),
        "method": "aalen-johansen",
        "censoring": CENSORING_NOTE,
        "processes": result,
    }


# -- movement -------------------------------------------------------------------------------------


def bucket_start(moment: datetime, by: Bucket) -> date:
    day = moment.date()
    if by == "week":
        return day - timedelta(days=day.weekday())
    return date(day.year, day.month, 1)


def default_period(by: Bucket, now: datetime) -> tuple[datetime, datetime]:
    if by == "week":
        start = bucket_start(now, "week") - timedelta(weeks=7)
    else:
        first = bucket_start(now, "month")
        month = first.month - 5
        start = date(first.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return datetime(start.year, start.month, start.day, tzinfo=UTC), now + timedelta(seconds=1)


def movement(snapshot: Snapshot, filters: Filters, by: Bucket) -> dict[str, Any]:
    now = utcnow()
    start, end = filters.start, filters.end
    if start is None or end is None:
        default_start, default_end = default_period(by, now)
        start, end = start or default_start, end or default_end
    model = snapshot.model
    groups: dict[str, dict[tuple[str, str | None], list[float]]] = {
        "rep": {},
        "team": {},
        "process": {},
    }
    for deal, info, process in _select(snapshot, filters):
        for step in advances(deal, start, end):
            gain = (
                model.win(deal.process, step.position).value
                - model.win(deal.process, step.previous).value
            ) * deal.amount
            period = bucket_start(step.at, by).isoformat()
            for group, label in (
                ("rep", info.owner_external_id),
                ("team", deal.team),
                ("process", process.key),
            ):
                slot = groups[group].setdefault((period, label), [0.0, 0.0])
                slot[0] += 1
                slot[1] += gain
    names = {info.owner_external_id: info.owner_name for info in snapshot.info.values()}

    def rows(group: str) -> list[dict[str, Any]]:
        out = []
        for (period, label), (count, value) in sorted(
            groups[group].items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            row: dict[str, Any] = {
                "period": period,
                group: label,
                "advances": int(count),
                "progress_value": round(value, 2),
            }
            if group == "rep":
                row["rep_name"] = names.get(label)
            out.append(row)
        return out

    return {
        "filters": filters.as_dict(),
        "by": by,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "progress_value": "sum over milestone advances of (P(win | new milestone) - "
        "P(win | previous milestone)) * amount",
        "per_rep": rows("rep"),
        "per_team": rows("team"),
        "per_process": rows("process"),
    }


# -- velocity -------------------------------------------------------------------------------------


def velocity(snapshot: Snapshot, filters: Filters) -> dict[str, Any]:
    now = utcnow()
    periodic = filters.start is not None or filters.end is not None
    counts: dict[tuple[int, int], dict[tuple[float, int], int]] = {}
    for deal, _, process in _select(snapshot, filters):
        for stay in deal.stays(now):
            if periodic and not filters.in_period(stay.start):
                continue
            cause = {"advanced": 1, "won": 2, "lost": 2}.get(stay.ending, CENSORED)
            observation = (round(days_between(stay.start, stay.end) * 4) / 4, cause)
            slot = counts.setdefault((process.id, stay.position), {})
            slot[observation] = slot.get(observation, 0) + 1
    result = []
    for process in _processes(snapshot, filters):
        steps = []
        positions = [(0, "created")] + [(m.position, m.key) for m in process.milestones]
        for index, (position, key) in enumerate(positions[:-1]):
            data = counts.get((process.id, position))
            curve = aalen_johansen_counts(data, (1, 2)) if data else None
            steps.append(
                {
                    "from": key,
                    "to": positions[index + 1][1],
                    "median_days": curve.quantile(1, 0.5, among_cause=True) if curve else None,
                    "p80_days": curve.quantile(1, 0.8, among_cause=True) if curve else None,
                    "sample": curve.size if curve else 0,
                    "advanced": curve.counts.get(1, 0) if curve else 0,
                    "closed_without_advancing": curve.counts.get(2, 0) if curve else 0,
                    "open_censored": curve.counts.get(CENSORED, 0) if curve else 0,
                }
            )
        result.append({"process": process.key, "name": process.name, "steps": steps})
    return {
        "filters": filters.as_dict(),
        "as_of": now.isoformat(),
        "method": "Days from reaching a milestone to reaching a later one, among opportunities "
        "that advance: quantiles of the Aalen-Johansen cumulative incidence of advancing "
        "(closing without advancing competes; open opportunities are censored).",
        "processes": result,
    }


# -- stalled and opportunities --------------------------------------------------------------------


def _days_at(deal: DealHistory, info: DealInfo, now: datetime) -> float:
    return days_between(info.current_since, now)


def opportunity_row(
    snapshot: Snapshot, deal: DealHistory, info: DealInfo, process: ProcessInfo, now: datetime
) -> dict[str, Any]:
    position, _ = deal.position_at(now)
    days_at = _days_at(deal, info, now)
    current = process.at(position)
    following = process.after(position)
    if deal.is_open:
        estimate = snapshot.model.win(deal.process, position, days_at)
        probability = estimate.value
    else:
        probability = 1.0 if deal.outcome == "won" else 0.0
    threshold = snapshot.model.stall_threshold(deal.process, position) if deal.is_open else None
    return {
        "id": deal.key,
        "external_id": info.external_id,
        "name": info.name,
        "connection": info.connection,
        "process": process.key,
        "segment": deal.segment,
        "owner": info.owner_external_id,
        "owner_name": info.owner_name,
        "team": deal.team,
        "outcome": deal.outcome,
        "amount": deal.amount,
        "milestone": current.key if current else "created",
        "position": position,
        "days_at_milestone": round(days_at, 1),
        "last_customer_action_at": deal.last_action_at.isoformat() if deal.last_action_at else None,
        "win_probability": round(probability, 4),
        "expected_value": round(probability * deal.amount, 2),
        "stalled": threshold is not None and days_at > threshold,
        "stall_threshold_days": threshold,
        "next_milestone": following.key if following else None,
        "guidance": current.guidance if current else (following.guidance if following else ""),
    }


def opportunity_rows(
    snapshot: Snapshot,
    filters: Filters,
    *,
    outcome: str | None = None,
    only_stalled: bool = False,
) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for deal, info, process in _select(snapshot, filters):
        if outcome is not None and deal.outcome != outcome:
            continue
        if (filters.start or filters.end) and not filters.in_period(deal.created_at):
            continue
        if only_stalled:
            if not deal.is_open:
                continue
            position, _ = deal.position_at(now)
            threshold = snapshot.model.stall_threshold(deal.process, position)
            if threshold is None or _days_at(deal, info, now) <= threshold:
                continue
        rows.append(opportunity_row(snapshot, deal, info, process, now))
    rows.sort(key=lambda r: r["id"])
    return rows


def stalled(snapshot: Snapshot, filters: Filters) -> list[dict[str, Any]]:
    return opportunity_rows(snapshot, filters, outcome="open", only_stalled=True)


def find_opportunity(
    snapshot: Snapshot, opportunity_id: int
) -> tuple[DealHistory, DealInfo, ProcessInfo]:
    deal = snapshot.deals.get(opportunity_id)
    process = snapshot.processes.get(deal.process) if deal and deal.process else None
    if deal is None or process is None:
        raise NotFoundError(f"no opportunity with id {opportunity_id}")
    return deal, snapshot.info[opportunity_id], process


# -- forecast -------------------------------------------------------------------------------------


def forecast_kpi(
    snapshot: Snapshot, filters: Filters, months: int, new_pipeline: bool = True
) -> dict[str, Any]:
    now = utcnow()
    windows = month_windows(now, months)
    open_deals = []
    pipeline = []
    selected = []
    for deal, info, _ in _select(snapshot, filters):
        selected.append(deal)
        if not deal.is_open:
            continue
        position, _ = deal.position_at(now)
        open_deals.append(OpenDeal(deal.amount, deal.process, position, _days_at(deal, info, now)))
        pipeline.append(PipelineDeal(deal.amount, info.stage_probability or 0.0, info.close_date))
    rates = creation_rates(selected, now) if new_pipeline else []
    rows = forecast(open_deals, snapshot.model, windows, rates)
    baseline = weighted_pipeline(pipeline, windows)
    return {
        "filters": filters.as_dict(),
        "as_of": now.isoformat(),
        "open_opportunities": len(open_deals),
        "includes_new_pipeline": new_pipeline,
        "method": "Sum over open opportunities of amount * P(won in the month | milestone, days "
        "at it), from history (won and lost competing); plus expected wins of opportunities "
        "not yet created at the last 90 days' creation rate. Band: normal approximation of "
        "independent outcomes, P10-P90. No close dates, no stage probabilities.",
        "baseline_method": "CRM weighted pipeline: amount * stage probability of open "
        "opportunities whose close date falls in the month.",
        "months": [
            {**row.as_dict(), "baseline_weighted_pipeline": round(baseline[i], 2)}
            for i, row in enumerate(rows)
        ],
    }


# -- scorecard ------------------------------------------------------------------------------------


def scorecard(snapshot: Snapshot, owner: str) -> dict[str, Any]:
    now = utcnow()
    filters = Filters(owner=owner)
    selected = list(_select(snapshot, filters))
    if not selected and owner not in {i.owner_external_id for i in snapshot.info.values()}:
        raise NotFoundError(f"no rep with id {owner!r}")
    week = bucket_start(now, "week")
    month = bucket_start(now, "month")
    periods = {
        "week": datetime(week.year, week.month, week.day, tzinfo=UTC),
        "month": datetime(month.year, month.month, month.day, tzinfo=UTC),
    }
    model = snapshot.model
    card: dict[str, Any] = {"rep": owner, "as_of": now.isoformat()}
    name = next((info.owner_name for _, info, _ in selected), None)
    card["rep_name"] = name
    for label, start in periods.items():
        value = 0.0
        count = 0
        for deal, _, _ in selected:
            for step in advances(deal, start, now + timedelta(seconds=1)):
                count += 1
                value += (
                    model.win(deal.process, step.position).value
                    - model.win(deal.process, step.previous).value
                ) * deal.amount
        card[f"progress_value_{label}"] = round(value, 2)
        card[f"advances_{label}"] = count
    rows = [opportunity_row(snapshot, d, i, p, now) for d, i, p in selected if d.is_open]
    card["open_opportunities"] = len(rows)
    card["expected_value_open"] = round(sum(r["expected_value"] for r in rows), 2)
    card["stalled"] = [r for r in rows if r["stalled"]]
    return card
