"""What history shows of leaving a position, per process: velocity and stall thresholds.

Leaving a position (advancing, or closing without advancing) is a competing-risk fit per
process and position: velocity is the median and 80th percentile of the days to advance among
deals that advance (open deals censored), and the stall threshold is the 80th percentile of
the days until a deal leaves the position at all (Kaplan-Meier). A process with fewer than
`MIN_SAMPLE` deals at a position takes the threshold of every process there.

Win probabilities are not here: every one the answers show comes from the forecast's model
(`winmodel.WinModel`).

    model = fit_model(deals, as_of)
    model.velocity(process, position).median_days
    model.stall_threshold(process, position)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from app.kpis.history import DealHistory, days_between
from app.kpis.incidence import CENSORED, IncidenceCurve, aalen_johansen_counts

__all__ = ["MIN_SAMPLE", "Model", "Velocity", "fit_model"]

MIN_SAMPLE = 30
RESOLUTION_DAYS = 0.25
ADVANCED = 1
CLOSED = 2


def _round(days: float) -> float:
    return round(days / RESOLUTION_DAYS) * RESOLUTION_DAYS


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
    leave_counts: dict[tuple[int | None, int], dict[tuple[float, int], int]] = field(
        default_factory=dict
    )
    _leaves: dict[tuple[int | None, int], IncidenceCurve] = field(default_factory=dict)

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
    """Every leave curve from these histories, as they stand at `as_of`."""
    model = Model(as_of, min_sample)
    leaves = model.leave_counts
    for deal in deals:
        if deal.process is None or deal.created_at > as_of:
            continue
        for stay in deal.stays(as_of):
            length = days_between(stay.start, stay.end)
            leave_cause = {"advanced": ADVANCED, "won": CLOSED, "lost": CLOSED}.get(
                stay.ending, CENSORED
            )
            for owner in (deal.process, None):
                _add(leaves.setdefault((owner, stay.position), {}), length, leave_cause)
    return model
