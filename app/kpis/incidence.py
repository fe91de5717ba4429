"""Cumulative incidence with competing outcomes (Aalen-Johansen), and Kaplan-Meier as its
one-cause case.

Each observation is a duration and a cause: 0 when the subject was still under observation at
that duration (censored), otherwise the number of the outcome that ended it (won = 1 and
lost = 2 for win probability; advanced = 1, closed = 2 for velocity). At each distinct time
t with n subjects at risk and d_c outcomes of cause c:

    S(t)   = S(t-) * (1 - Σ_c d_c / n)          overall outcome-free probability
    F_c(t) = F_c(t-) + S(t-) * d_c / n          cumulative incidence of cause c

Subjects censored at t still count as at risk at t. With a single cause, 1 - S is the
Kaplan-Meier estimate of the distribution function and F_1 equals it.

    curve = aalen_johansen([(3.0, WON), (5.0, LOST), (8.0, CENSORED)])
    curve.incidence(WON, 10.0)            # P(won within 10 days)
    curve.conditional(WON, 4.0, 30.0)     # P(won in (4, 34] | nothing happened by day 4)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "CENSORED",
    "LOST",
    "WON",
    "IncidenceCurve",
    "aalen_johansen",
    "aalen_johansen_counts",
    "kaplan_meier",
]

CENSORED = 0
WON = 1
LOST = 2


@dataclass(frozen=True)
class IncidenceCurve:
    """Right-continuous step functions evaluated at the distinct outcome times."""

    times: tuple[float, ...]
    survival: tuple[float, ...]
    incidences: dict[int, tuple[float, ...]]
    size: int
    """Subjects at risk at time 0."""
    counts: dict[int, int] = field(default_factory=dict)
    """Outcomes observed per cause (0: censored)."""

    def _index(self, t: float) -> int:
        return bisect_right(self.times, t) - 1

    def survival_at(self, t: float) -> float:
        """P(no outcome by t)."""
        i = self._index(t)
        return 1.0 if i < 0 else self.survival[i]

    def incidence(self, cause: int, t: float) -> float:
        """P(outcome `cause` by t)."""
        values = self.incidences.get(cause)
        if not values:
            return 0.0
        i = self._index(t)
        return 0.0 if i < 0 else values[i]

    def eventual(self, cause: int) -> float:
        """P(outcome `cause` by the last observed time): the plateau of its incidence."""
        values = self.incidences.get(cause)
        return values[-1] if values else 0.0

    def conditional(self, cause: int, after: float, within: float) -> float:
        """P(outcome `cause` in (after, after + within] | no outcome by `after`)."""
        alive = self.survival_at(after)
        if alive <= 0.0:
            return 0.0
        gained = self.incidence(cause, after + within) - self.incidence(cause, after)
        return max(0.0, min(1.0, gained / alive))

    def quantile(self, cause: int, q: float, *, among_cause: bool = False) -> float | None:
        """Smallest t with F_cause(t) ≥ q, or None when the curve never gets there.

        With `among_cause`, the quantile of the time to `cause` among subjects that reach it:
        F_cause(t) ≥ q * F_cause(∞).
        """
        values = self.incidences.get(cause)
        if not values:
            return None
        target = q * values[-1] if among_cause else q
        if target <= 0.0:
            return None
        for t, value in zip(self.times, values, strict=True):
            if value >= target - 1e-12:
                return t
        return None


def aalen_johansen(
    observations: Iterable[tuple[float, int]], causes: Iterable[int] = (WON, LOST)
) -> IncidenceCurve:
    """Fit the cumulative incidence of each cause; durations must be ≥ 0."""
    counts: dict[tuple[float, int], int] = {}
    for observation in observations:
        counts[observation] = counts.get(observation, 0) + 1
    return aalen_johansen_counts(counts, causes)


def aalen_johansen_counts(
    counts: Mapping[tuple[float, int], int], causes: Iterable[int] = (WON, LOST)
) -> IncidenceCurve:
    """The same from counts per (duration, cause): large samples in little memory."""
    wanted = tuple(causes)
    totals: dict[int, int] = {}
    by_time: dict[float, dict[int, int]] = {}
    for (t, cause), n in counts.items():
        if t < 0:
            raise ValueError(f"negative duration {t}")
        if cause != CENSORED and cause not in wanted:
            raise ValueError(f"cause {cause} is not one of {wanted}")
        totals[cause] = totals.get(cause, 0) + n
        slot = by_time.setdefault(t, {})
        slot[cause] = slot.get(cause, 0) + n
    size = sum(totals.values())
    at_risk = size
    times: list[float] = []
    survival: list[float] = []
    incidences: dict[int, list[float]] = {c: [] for c in wanted}
    current = dict.fromkeys(wanted, 0.0)
    alive = 1.0
    for t in sorted(by_time):
        slot = by_time[t]
        events = sum(n for cause, n in slot.items() if cause != CENSORED)
        if events:
            for cause in wanted:
                current[cause] += alive * slot.get(cause, 0) / at_risk
            alive *= 1.0 - events / at_risk
            times.append(t)
            survival.append(alive)
            for cause in wanted:
                incidences[cause].append(current[cause])
        at_risk -= sum(slot.values())
    return IncidenceCurve(
        times=tuple(times),
        survival=tuple(survival),
        incidences={c: tuple(v) for c, v in incidences.items()},
        size=size,
        counts=totals,
    )


def kaplan_meier(observations: Iterable[tuple[float, bool]]) -> IncidenceCurve:
    """Kaplan-Meier: (duration, event happened) pairs; `incidence(1, t)` is 1 - S(t)."""
    return aalen_johansen(((d, 1 if happened else CENSORED) for d, happened in observations), (1,))
