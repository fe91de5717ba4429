"""A target's plan over deal columns: what is won, what the open deals bring, the movement
still required at every milestone, and the movement made since the plan.

The inputs of `plan` (`app.kpis.plan`) read from `DealColumns` at one instant, with the fitted
model: the deals of the target's scope (a mask: process, and team or rep), the value they have
won inside the period, each open deal's position and chance of being won inside the period,
the typical won amount of the process, and, per milestone, the most deals that reached it in
one week of the last year. Everything is read as the columns stood at the plan's instant
(`DealColumns.as_of`), so a plan made at a past instant uses nothing that came after it.

    made = make_plan(cols, mask, process_rows, model, process, positions, "amount", 250_000,
                     period_start, period_end, now)
    made.rows[1].requirements[0.8].counts      # replies needed, week by week
    tracked = track(made, cols, mask, later)   # on track or behind, per milestone
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from app.kpis.columns import Bools, DealColumns, Floats, Ints, epoch
from app.kpis.history import DAY
from app.kpis.plan import (
    CONFIDENCES,
    PlanWeek,
    Requirement,
    Units,
    arrival_chances,
    open_wins,
    plan_weeks,
    required_by,
    requirement,
    tail_chances,
    units_for,
)
from app.kpis.winmodel import WinModel

__all__ = [
    "AMOUNT_RESOLUTION",
    "BEYOND_HISTORY",
    "HISTORY_WEEKS",
    "MAX_UNITS",
    "Metric",
    "MilestoneRow",
    "Plan",
    "Standing",
    "TrackRow",
    "Tracked",
    "arrivals",
    "busiest_week",
    "make_plan",
    "open_standing",
    "track",
    "typical_won_amount",
    "won_value",
]

Metric = Literal["amount", "deals"]
AMOUNT_RESOLUTION = 4
"""An amount is counted in quarters of the typical won amount (finer when the target is
large: at most `MAX_UNITS` units)."""
MAX_UNITS = 2_000
BEYOND_HISTORY = 2.0
"""A requirement is beyond history when one of its weeks asks for more than this many times
the most deals that reached the milestone in any week of the last `HISTORY_WEEKS`."""
HISTORY_WEEKS = 52
TYPICAL_WINDOW_DAYS = 365
TYPICAL_MIN_WINS = 5
Status = Literal["ahead", "on_track", "behind", "no_plan"]


def _week_number(seconds: Floats) -> Ints:
    """Monday-based calendar weeks since the epoch (a Thursday)."""
    weeks: Ints = np.floor((seconds / DAY + 3.0) / 7.0).astype(np.int64)
    return weeks


def _reached(cols: DealColumns, records: Bools, position: int) -> tuple[Bools, Floats]:
    """Which deals advanced to `position` (created, for 0), and when."""
    if position >= cols.positions:
        return np.zeros(len(cols), dtype=bool), np.full(len(cols), np.nan)
    at = cols.reach[:, position]
    return records[:, position] & ~np.isnan(at), at


def arrivals(
    cols: DealColumns, mask: Bools, records: Bools, position: int, start: float, end: float
) -> int:
    """Deals of `mask` that advanced to `position` in [start, end) (epoch seconds)."""
    hit, at = _reached(cols, records, position)
    inside = hit & mask & (np.nan_to_num(at, nan=-np.inf) >= start) & (np.nan_to_num(at) < end)
    return int(inside.sum())


def busiest_week(
    cols: DealColumns, mask: Bools, records: Bools, position: int, moment: float
) -> int:
    """The most deals of `mask` that advanced to `position` in one calendar week of the
    `HISTORY_WEEKS` full weeks before the week of `moment`."""
    current = int(_week_number(np.array([moment]))[0])
    hit, at = _reached(cols, records, position)
    chosen = at[hit & mask]
    weeks = _week_number(chosen)
    weeks = weeks[(weeks >= current - HISTORY_WEEKS) & (weeks < current)]
    return int(np.bincount(weeks - (current - HISTORY_WEEKS)).max()) if weeks.shape[0] else 0


def won_value(
    cols: DealColumns, mask: Bools, metric: Metric, start: float, end: float
) -> tuple[float, int]:
    """Value (`metric`) and number of deals of `mask` won in [start, end)."""
    closed = np.nan_to_num(cols.closed, nan=-np.inf)
    won = mask & (cols.outcome == 1) & (closed >= start) & (closed < end)
    count = int(won.sum())
    return (float(cols.amount[won].sum()) if metric == "amount" else float(count)), count


def typical_won_amount(cols: DealColumns, process_mask: Bools, moment: float) -> float | None:
    """The mean amount of the process's deals won in the `TYPICAL_WINDOW_DAYS` before
    `moment` (of every deal it won before, when fewer than `TYPICAL_MIN_WINS`); None when it
    never won one."""
    closed = np.nan_to_num(cols.closed, nan=np.inf)
    won = process_mask & (cols.outcome == 1) & (closed <= moment)
    recent = won & (closed > moment - TYPICAL_WINDOW_DAYS * DAY)
    chosen = recent if recent.sum() >= TYPICAL_MIN_WINS else won
    if not chosen.any():
        return None
    return float(cols.amount[chosen].mean())


@dataclass(frozen=True)
class Standing:
    """The open deals of a scope at an instant: position, value and P(won inside the period)."""

    position: Ints
    value: Floats
    chance: Floats


def open_standing(
    cols: DealColumns,
    mask: Bools,
    model: WinModel,
    metric: Metric,
    moment: float,
    period_start: float,
    period_end: float,
) -> Standing:
    """Every open deal of `mask` at `moment` (the columns as they stood then), its position
    and its chance of being won inside the period: the forecast's P(won in a window) for its
    position, days there and size (`WinModel.probabilities`), computed per position."""
    rows = np.nonzero(mask & (cols.outcome == 0) & (cols.process >= 0))[0]
    position, since = cols.take(rows).position_at(moment)
    days_at = np.maximum(0.0, (moment - since) / DAY)
    opens = max(0.0, (period_start - moment) / DAY)
    closes = max(0.0, (period_end - moment) / DAY)
    chance = np.zeros(rows.shape[0])
    if rows.shape[0] and closes > opens:
        groups = np.stack([cols.process[rows], position], axis=1)
        unique, inverse = np.unique(groups, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for g, (process, pos) in enumerate(unique.tolist()):
            members = np.nonzero(inverse == g)[0]
            found, _ = model.probabilities(
                process, pos, days_at[members], [(opens, closes)], cols.amount[rows[members]]
            )
            chance[members] = found[:, 0]
    value = cols.amount[rows] if metric == "amount" else np.ones(rows.shape[0])
    return Standing(position, value, chance)


@dataclass(frozen=True)
class MilestoneRow:
    """One milestone (position 0: created) of a plan."""

    position: int
    chances: tuple[float, ...]
    """q(w): P(a deal reaching it in plan week w is won inside the period)."""
    open_expected: float
    """Value the open deals already at it or beyond are expected to win inside the period."""
    busiest_week: int
    requirements: dict[float, Requirement | None]
    """By confidence: the arrivals needed week by week, or None when none suffice."""

    def beyond_history(self, confidence: float) -> bool:
        found = self.requirements.get(confidence)
        if found is None or found.total == 0:
            return False
        return found.busiest > BEYOND_HISTORY * self.busiest_week

    def feasible(self, confidence: float) -> bool:
        return self.requirements.get(confidence) is not None and not self.beyond_history(confidence)


@dataclass(frozen=True)
class Plan:
    """The movement a target requires, as made at `since`."""

    since: datetime
    period_start: datetime
    period_end: datetime
    metric: Metric
    target: float
    won: float
    won_deals: int
    open_expected: float
    """Value every open deal is expected to win inside the period (the forecast)."""
    win_value: float | None
    """What one new win is counted at: the typical won amount (1 for a deals target)."""
    units: Units | None
    weeks: tuple[PlanWeek, ...]
    rows: tuple[MilestoneRow, ...]

    @property
    def remaining(self) -> float:
        return max(0.0, self.target - self.won)

    @property
    def gap(self) -> float:
        """Target - won - what the open deals are forecast to win inside the period."""
        return max(0.0, self.target - self.won - self.open_expected)

    @property
    def wins_needed(self) -> int | None:
        """New wins that close the gap on average (gap / value of a win)."""
        if self.win_value is None or self.win_value <= 0:
            return None
        return math.ceil(self.gap / self.win_value - 1e-9)

    @property
    def reached(self) -> bool:
        return self.won >= self.target

    def reachable(self, confidence: float = CONFIDENCES[0]) -> bool:
        """Whether new movement at some milestone can close the gap with `confidence`
        within history's reach: a requirement exists and is not beyond history."""
        return self.reached or any(row.feasible(confidence) for row in self.rows)


def make_plan(
    cols: DealColumns,
    mask: Bools,
    process_mask: Bools,
    model: WinModel,
    process: int,
    positions: Sequence[int],
    metric: Metric,
    target: float,
    period_start: datetime,
    period_end: datetime,
    since: datetime,
) -> Plan:
    """The plan for a target as made at `since`: the columns as they stood then (deals of
    `mask` in scope; `process_mask`, every deal of the process, for its typical won amount),
    the curves of `process` for new movement, `positions` the rows (0: created)."""
    moment = epoch(since)
    cut, kept = cols.as_of(moment)
    scope, every = mask[kept], process_mask[kept]
    start, end = epoch(period_start), epoch(period_end)
    won, won_deals = won_value(cut, scope, metric, start, min(end, moment + 1e-6))
    weeks = tuple(plan_weeks(period_start, period_end, since)) if moment < end else ()
    standing = open_standing(cut, scope, model, metric, moment, start, end)
    open_expected = float(standing.value @ standing.chance)
    typical = typical_won_amount(cut, every, moment) if metric == "amount" else 1.0
    remaining = max(0.0, target - won)
    units: Units | None = None
    if typical is not None and typical > 0:
        size = (
            max(typical / AMOUNT_RESOLUTION, remaining / MAX_UNITS) if metric == "amount" else 1.0
        )
        units = units_for(remaining, typical, size)
    records = cut.records()
    rows: list[MilestoneRow] = []
    for position in positions:
        at_or_beyond = standing.position >= position
        chances = (
            arrival_chances(model, process, position, weeks, period_start, period_end)
            if weeks
            else []
        )
        requirements: dict[float, Requirement | None] = {}
        if units is not None and weeks:
            weights = np.rint(standing.value[at_or_beyond] / units.size).astype(np.int64)
            pmf = open_wins(standing.chance[at_or_beyond], weights, units.needed)
            tail = tail_chances(pmf)
            days = [week.days for week in weeks]
            for confidence in CONFIDENCES:
                requirements[confidence] = requirement(
                    tail, units.needed, units.per_win, chances, days, confidence
                )
        rows.append(
            MilestoneRow(
                position,
                tuple(chances),
                float(standing.value[at_or_beyond] @ standing.chance[at_or_beyond]),
                busiest_week(cut, scope, records, position, moment),
                requirements,
            )
        )
    return Plan(
        since,
        period_start,
        period_end,
        metric,
        target,
        won,
        won_deals,
        open_expected,
        typical,
        units,
        weeks,
        tuple(rows),
    )


@dataclass(frozen=True)
class TrackRow:
    """Movement at one milestone since the plan, against what the plan asked for by now."""

    position: int
    actual: int
    required: dict[float, int]
    """By confidence: whole arrivals the plan asked for by now."""
    through_week: dict[float, int]
    """By confidence: ... by the end of the current week."""
    status: Status
    behind_by: int
    """Arrivals short of the 50 % plan by now."""
    needed_this_week: int
    """Arrivals still to come this week to be on the 50 % plan at its end."""


@dataclass(frozen=True)
class Tracked:
    moment: datetime
    rows: tuple[TrackRow, ...]
    week: PlanWeek | None
    """The plan week `moment` falls in (None once the period is over)."""

    @property
    def on_track(self) -> bool:
        """Every milestone with a plan has had the movement its 50 % plan asked for by now."""
        planned = [row for row in self.rows if row.status != "no_plan"]
        return bool(planned) and all(row.status != "behind" for row in planned)


def track(plan: Plan, cols: DealColumns, mask: Bools, moment: datetime) -> Tracked:
    """Movement at each milestone from the plan's instant to `moment` (deals of `mask`, as
    the columns stood at `moment`) against the plan's week-by-week requirement."""
    when = epoch(moment)
    cut, kept = cols.as_of(when)
    scope = mask[kept]
    records = cut.records()
    week = next((w for w in plan.weeks if w.start <= moment < w.end), None)
    end_of_week = week.end if week is not None else moment
    low = CONFIDENCES[0]
    rows: list[TrackRow] = []
    for row in plan.rows:
        actual = arrivals(cut, scope, records, row.position, epoch(plan.since), when)
        required: dict[float, int] = {}
        through: dict[float, int] = {}
        for confidence, found in row.requirements.items():
            if found is None:
                continue
            required[confidence] = math.floor(required_by(found.counts, plan.weeks, moment) + 1e-9)
            through[confidence] = math.ceil(
                required_by(found.counts, plan.weeks, end_of_week) - 1e-9
            )
        high = required.get(CONFIDENCES[-1])
        status: Status
        if low not in required:
            status = "no_plan"
        elif actual < required[low]:
            status = "behind"
        elif high is not None and high > required[low] and actual >= high:
            status = "ahead"
        else:
            status = "on_track"
        rows.append(
            TrackRow(
                row.position,
                actual,
                required,
                through,
                status,
                max(0, required.get(low, 0) - actual),
                max(0, through.get(low, 0) - actual),
            )
        )
    return Tracked(moment, tuple(rows), week)
