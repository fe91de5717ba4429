"""Conversion from one milestone to a later one (or to won), with open deals censored.

Of the deals that reached position k, the share that went on to reach position j or beyond
(or to be won), estimated as the plateau of an Aalen-Johansen cumulative incidence from the
moment each reached k: reaching j competes with closing without reaching it, and deals still
open without having reached j are censored at `as_of`. The raw counts are reported beside it.

    c = conversion(deals, position=2, target=3, as_of=now)      # k → j
    c = conversion(deals, position=2, target=WON_TARGET, as_of=now)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.kpis.history import DealHistory, days_between
from app.kpis.incidence import CENSORED, aalen_johansen_counts

__all__ = ["WON_TARGET", "Conversion", "conversion"]

WON_TARGET = -1
REACHED = 1
FAILED = 2


class _Curve(Protocol):
    @property
    def size(self) -> int: ...
    @property
    def counts(self) -> Mapping[int, int]: ...
    def eventual(self, cause: int) -> float: ...


@dataclass(frozen=True)
class Conversion:
    estimate: float | None
    reached: int
    converted: int
    failed: int
    censored: int

    @classmethod
    def of(cls, curve: _Curve) -> Conversion:
        """The conversion read off a reached-vs-failed incidence curve."""
        return cls(
            curve.eventual(REACHED),
            curve.size,
            curve.counts.get(REACHED, 0),
            curve.counts.get(FAILED, 0),
            curve.counts.get(CENSORED, 0),
        )


def conversion(
    deals: Iterable[DealHistory], position: int, target: int, as_of: datetime
) -> Conversion:
    counts: dict[tuple[float, int], int] = {}
    for deal in deals:
        start = deal.created_at if position == 0 else deal.first_reached(position)
        if start is None or start > as_of:
            continue
        closed = deal.closed_at is not None and deal.closed_at <= as_of and not deal.is_open
        if target == WON_TARGET:
            done = deal.closed_at if closed and deal.outcome == "won" else None
        else:
            done = deal.reached_at_least(target)
            if done is not None and done > as_of:
                done = None
        if done is not None:
            key = (days_between(start, done), REACHED)
        elif closed and deal.closed_at is not None:
            key = (days_between(start, deal.closed_at), FAILED)
        else:
            key = (days_between(start, as_of), CENSORED)
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return Conversion(None, 0, 0, 0, 0)
    return Conversion.of(aalen_johansen_counts(counts, (REACHED, FAILED)))
