"""The run's summary: counts per object, conversion per step, gaps, win rates, next to the
configured parameters they should match.

Conversion at step k counts deals whose fate at k is *decided* by the horizon: they reached k
(the step before it, or creation) and then either reached k or dropped there. Deals still
waiting are censored, not counted as failures. A drop is timed like an advance (same gap
distribution), so censoring does not bias the rate. Gaps are measured in business days, the
unit the parameters use, and in calendar days.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.history.clock import DAY, business_days_between
from sandbox.history.params import GeneratorParams, Process
from sandbox.history.truth import DealTruth

__all__ = ["SummaryBuilder", "median_of"]


def median_of(histogram: Counter[float]) -> float | None:
    total = sum(histogram.values())
    if total == 0:
        return None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen * 2 >= total:
            return value
    return None


@dataclass
class _StepStats:
    reached: int = 0
    decided: int = 0
    expected_micros: int = 0  # integers, so sums do not depend on the order of deals
    gaps: Counter[float] = field(default_factory=Counter)
    calendar_gaps: Counter[float] = field(default_factory=Counter)


@dataclass
class _ProcessStats:
    deals: int = 0
    won: int = 0
    lost: int = 0
    amount_won: float = 0.0
    steps: list[_StepStats] = field(default_factory=list)


class SummaryBuilder:
    """Fed one `DealTruth` at a time; memory does not grow with the number of deals."""

    def __init__(self, params: GeneratorParams) -> None:
        self._params = params
        self._processes = {
            process.key: _ProcessStats(steps=[_StepStats() for _ in process.steps])
            for process in params.processes
        }
        self._segments: dict[str, Counter[str]] = {}
        self.deals = 0
        self.activities = 0

    def merge(self, other: SummaryBuilder) -> None:
        """Add the deals another builder saw (another range of the same run)."""
        self.deals += other.deals
        self.activities += other.activities
        for key, stats in self._processes.items():
            theirs = other._processes[key]
            stats.deals += theirs.deals
            stats.won += theirs.won
            stats.lost += theirs.lost
            stats.amount_won += theirs.amount_won
            for mine, their_step in zip(stats.steps, theirs.steps, strict=True):
                mine.reached += their_step.reached
                mine.decided += their_step.decided
                mine.expected_micros += their_step.expected_micros
                mine.gaps.update(their_step.gaps)
                mine.calendar_gaps.update(their_step.calendar_gaps)
        for name, counter in other._segments.items():
            self._segments.setdefault(name, Counter()).update(counter)

    def add(self, truth: DealTruth) -> None:
        deal = truth.deal
        process = deal.process
        stats = self._processes[process.key]
        stats.deals += 1
        self.deals += 1
        segment = self._segments.setdefault(deal.account.segment, Counter())
        segment["deals"] += 1
        segment[truth.outcome] += 1
        if truth.outcome == "won":
            stats.won += 1
            stats.amount_won += truth.amount
        elif truth.outcome == "lost":
            stats.lost += 1
        self.activities += len(deal.activities)
        previous = deal.created_at
        for index, step in enumerate(process.steps):
            step_stats = stats.steps[index]
            reached = truth.milestones.get(step.key)
            if reached is not None:
                step_stats.reached += 1
                step_stats.decided += 1
                step_stats.expected_micros += round(deal.expected[step.key] * 1_000_000)
                step_stats.gaps[round(business_days_between(previous, reached), 1)] += 1
                step_stats.calendar_gaps[round((reached - previous) / DAY, 1)] += 1
                previous = reached
                continue
            if truth.dropped_at is not None:
                step_stats.decided += 1
                step_stats.expected_micros += round(deal.expected[step.key] * 1_000_000)
            break

    def result(self, counts: dict[str, Any]) -> dict[str, Any]:
        p = self._params
        processes: dict[str, Any] = {}
        for process in p.processes:
            processes[process.key] = self._process_result(process, self._processes[process.key])
        segments = {
            name: {
                "deals": c["deals"],
                "won": c["won"],
                "lost": c["lost"],
                "open": c["open"],
                "win_rate": _rate(c["won"], c["won"] + c["lost"]),
            }
            for name, c in sorted(self._segments.items())
        }
        return {
            "format": "milestone-sync-export/1",
            "seed": p.seed,
            "size": p.size,
            "opportunities": p.opportunities,
            "now": p.to_json()["now"],
            "history_start": p.to_json()["history_start"],
            "future_until": p.to_json()["future_until"],
            "scenario": p.market.truth(),
            "counts": {**counts, "truth": {"deals": self.deals}},
            "activities": self.activities,
            "segments": segments,
            "processes": processes,
        }

    @staticmethod
    def _process_result(process: Process, stats: _ProcessStats) -> dict[str, Any]:
        steps = []
        configured_win = 1.0
        for step, s in zip(process.steps, stats.steps, strict=True):
            configured_win *= step.probability
            steps.append(
                {
                    "key": step.key,
                    "name": step.name,
                    "kind": step.kind,
                    "reached": s.reached,
                    "decided": s.decided,
                    "conversion": _rate(s.reached, s.decided),
                    "expected_conversion": _rate(s.expected_micros / 1_000_000, s.decided),
                    "configured_probability": step.probability,
                    "median_gap_business_days": median_of(s.gaps),
                    "configured_median_gap_business_days": step.gap_median_days,
                    "median_gap_days": median_of(s.calendar_gaps),
                }
            )
        return {
            "name": process.name,
            "segment": process.segment,
            "deal_type": process.deal_type,
            "deals": stats.deals,
            "won": stats.won,
            "lost": stats.lost,
            "open": stats.deals - stats.won - stats.lost,
            "win_rate": _rate(stats.won, stats.won + stats.lost),
            "configured_win_rate": round(configured_win, 4),
            "won_amount": round(stats.amount_won),
            "steps": steps,
        }


def _rate(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None
