"""What history shows, per process and position: win probability, velocity, stall thresholds.

Win probability P(won within t | at position k for d days) is estimated by *landmarking*: the
opportunities that were at k, still open and not yet advanced, d days after reaching it (d on
the grid `LANDMARKS`), with their outcome counted from that moment, won and lost competing
(Aalen-Johansen) and open ones censored at `as_of`. A deal that advances stays in the sample:
what is asked is whether a deal in this spot goes on to be won, by any path. Days between two
landmarks are handled by conditioning the curve of the landmark below on the days beyond it.

Minimum sample: a curve is used when at least `MIN_SAMPLE` opportunities were in that spot.
Otherwise the next lower landmark of the same process and position is tried, then the same
landmark pooled over every process at that position, then lower pooled landmarks; with no
history at all the probability is 0 and the estimate says `source="none"`.

Leaving a position (advancing, or closing without advancing) is a second competing-risk
fit per process and position: velocity is the median and 80th percentile of the days to
advance among deals that advance (open deals censored), and the stall threshold is the 80th
percentile of the days until a deal leaves the position at all (Kaplan-Meier).

    model = fit_model(deals, as_of)
    model.win(process, position, days_at=12.0).value         # eventual
    model.win_between(process, position, 12.0, 0.0, 30.0)    # within the next 30 days
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.kpis.history import DealHistory, days_between
from app.kpis.incidence import CENSORED, LOST, WON, IncidenceCurve, aalen_johansen_counts

__all__ = [
    "LANDMARKS",
    "MIN_SAMPLE",
    "Estimate",
    "Model",
    "Velocity",
    "fit_model",
    "landmark_for",
]

LANDMARKS: tuple[int, ...] = (0, 7, 14, 30, 60, 90, 180, 365)
MIN_SAMPLE = 30
RESOLUTION_DAYS = 0.25
ADVANCED = 1
CLOSED = 2
Source = Literal["process", "pooled", "none"]
Group = tuple[int | None, int, int]
"""(process, or None for pooled; position; landmark days)"""


def _round(days: float) -> float:
    return round(days / RESOLUTION_DAYS) * RESOLUTION_DAYS


def landmark_for(days_at: float) -> int:
    chosen = 0
    for landmark in LANDMARKS:
        if landmark <= days_at:
            chosen = landmark
    return chosen


@dataclass(frozen=True)
class Estimate:
    value: float
    sample: int
    source: Source
    landmark: int


@dataclass(frozen=True)
class Velocity:
    median_days: float | None
    p80_days: float | None
    sample: int
    advanced: int
    closed: int
    censored: int


@dataclass
class Model:
    as_of: datetime
    min_sample: int = MIN_SAMPLE
    outcome_counts: dict[Group, dict[tuple[float, int], int]] = field(default_factory=dict)
    leave_counts: dict[tuple[int | None, int], dict[tuple[float, int], int]] = field(
        default_factory=dict
    )
    _curves: dict[Group, IncidenceCurve] = field(default_factory=dict)
    _leaves: dict[tuple[int | None, int], IncidenceCurve] = field(default_factory=dict)
    _arrivals: dict[int | None, dict[int, float]] = field(default_factory=dict)

    def _curve(self, group: Group) -> IncidenceCurve | None:
        curve = self._curves.get(group)
        if curve is None:
            counts = self.outcome_counts.get(group)
            if not counts:
                return None
            curve = aalen_johansen_counts(counts, (WON, LOST))
            self._curves[group] = curve
        return curve

    def curve(
        self, process: int | None, position: int, days_at: float
    ) -> tuple[IncidenceCurve | None, int, Source]:
        """The curve to use for a deal at `position` for `days_at` days, with its landmark."""
        landmark = landmark_for(days_at)
        candidates = [lm for lm in LANDMARKS if lm <= landmark][::-1]
        owners: list[tuple[int | None, Source]] = [(None, "pooled")]
        if process is not None:
            owners.insert(0, (process, "process"))
        for owner, source in owners:
            for lm in candidates:
                curve = self._curve((owner, position, lm))
                if curve is not None and curve.size >= self.min_sample:
                    return curve, lm, source
        return None, 0, "none"

    def win(self, process: int | None, position: int, days_at: float = 0.0) -> Estimate:
        """P(won eventually | at `position` for `days_at` days)."""
        curve, landmark, source = self.curve(process, position, days_at)
        if curve is None:
            return Estimate(0.0, 0, "none", 0)
        return Estimate(
            curve.conditional_eventual(WON, days_at - landmark), curve.size, source, landmark
        )

    def arrival_win(self, process: int | None, position: int) -> float:
        """P(won eventually | just arrived at `position`), made non-decreasing along the
        process's milestones (isotonic, weighted by each milestone's sample): a customer's step
        forward never lowers a deal's chance, so it never lowers a rep's progress value. Where
        history has one milestone win less often than the one before (noise, or a milestone
        that adds no information), the two share their pooled probability."""
        if process not in self._arrivals:
            self._arrivals[process] = self._isotonic_arrivals(process)
        fitted = self._arrivals[process]
        if position in fitted:
            return fitted[position]
        below = [p for p in fitted if p < position]
        return fitted[max(below)] if below else self.win(process, position).value

    def _isotonic_arrivals(self, process: int | None) -> dict[int, float]:
        positions = sorted(
            {pos for (owner, pos, landmark) in self.outcome_counts if owner == process}
        )
        blocks: list[tuple[float, float, list[int]]] = []  # (mean, weight, positions)
        for position in positions:
            estimate = self.win(process, position)
            blocks.append((estimate.value, float(max(estimate.sample, 1)), [position]))
            while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:  # pool adjacent violators
                (m1, w1, p1), (m2, w2, p2) = blocks[-2], blocks[-1]
                blocks[-2:] = [((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, p1 + p2)]
        return {position: mean for mean, _, members in blocks for position in members}

    def win_between(
        self, process: int | None, position: int, days_at: float, start: float, end: float
    ) -> float:
        """P(won between `start` and `end` days from now | at `position` for `days_at` days)."""
        curve, landmark, _ = self.curve(process, position, days_at)
        if curve is None or end <= start:
            return 0.0
        offset = days_at - landmark
        alive = curve.survival_at(offset)
        if alive <= 0.0:
            return 0.0
        gained = curve.incidence(WON, offset + end) - curve.incidence(WON, offset + max(start, 0))
        return max(0.0, gained / alive)

    def _leave(self, process: int | None, position: int) -> IncidenceCurve | None:
        key = (process, position)
        curve = self._leaves.get(key)
        if curve is None:
            counts = self.leave_counts.get(key)
            if not counts:
                return None
            curve = aalen_johansen_counts(counts, (ADVANCED, CLOSED))
            self._leaves[key] = curve
        return curve

    def velocity(self, process: int | None, position: int) -> Velocity:
        """Days from reaching `position` to advancing beyond it, among deals that advance."""
        curve = self._leave(process, position)
        if curve is None:
            return Velocity(None, None, 0, 0, 0, 0)
        return Velocity(
            curve.quantile(ADVANCED, 0.5, among_cause=True),
            curve.quantile(ADVANCED, 0.8, among_cause=True),
            curve.size,
            curve.counts.get(ADVANCED, 0),
            curve.counts.get(CLOSED, 0),
            curve.counts.get(CENSORED, 0),
        )

    def stall_threshold(
        self, process: int | None, position: int, quantile: float = 0.8
    ) -> float | None:
        """The `quantile` (80th percentile) of days until a deal leaves `position` (advances
        or closes)."""
        curve = self._leave(process, position)
        if curve is None or curve.size < self.min_sample:
            curve = self._leave(None, position)
        if curve is None:
            return None
        for t, alive in zip(curve.times, curve.survival, strict=True):
            if 1.0 - alive >= quantile - 1e-12:
                return t
        return None


def _add(counts: dict[tuple[float, int], int], days: float, cause: int) -> None:
    key = (_round(days), cause)
    counts[key] = counts.get(key, 0) + 1


def fit_model(deals: Iterable[DealHistory], as_of: datetime, min_sample: int = MIN_SAMPLE) -> Model:
    """Fit every curve from these histories, as they stand at `as_of`."""
    model = Model(as_of, min_sample)
    outcomes = model.outcome_counts
    leaves = model.leave_counts
    for deal in deals:
        if deal.process is None or deal.created_at > as_of:
            continue
        closed = deal.closed_at is not None and deal.closed_at <= as_of and not deal.is_open
        final_cause = (WON if deal.outcome == "won" else LOST) if closed else CENSORED
        final_time = deal.closed_at if closed and deal.closed_at is not None else as_of
        for stay in deal.stays(as_of):
            length = days_between(stay.start, stay.end)
            leave_cause = {"advanced": ADVANCED, "won": CLOSED, "lost": CLOSED}.get(
                stay.ending, CENSORED
            )
            for owner in (deal.process, None):
                _add(leaves.setdefault((owner, stay.position), {}), length, leave_cause)
            still_there = stay.ending == "open"
            for landmark in LANDMARKS:
                if landmark > length or (landmark == length and not still_there and landmark):
                    break
                remaining = days_between(stay.start, final_time) - landmark
                if remaining < 0 or math.isnan(remaining):
                    break
                for owner in (deal.process, None):
                    group = (owner, stay.position, landmark)
                    _add(outcomes.setdefault(group, {}), remaining, final_cause)
    return model
