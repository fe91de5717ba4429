"""An opportunity's path through its process, as plain data: what every KPI is computed from.

Position 0 is "created, no milestone yet"; milestone positions start at 1. An opportunity is
*at* the highest position it has reached; reaching a lower one later is not an advance. Its
*stays* are the spans it spent at each position: from the moment it got there to the moment
it left (reached a higher position, or closed), or to `as_of` while it is still there.

    deal = DealHistory(1, process=7, created_at=t0, reached=((1, t1), (2, t2)), outcome="open",
                       closed_at=None, amount=5000.0)
    deal.position_at(t2)      # (2, t2)
    deal.as_of(t1)            # what was known at t1
    deal.before(t1)           # what was known strictly before t1 (what a backtest may use)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

__all__ = ["DAY", "DealHistory", "Stay", "days_between"]

DAY = 86_400.0
Ending = Literal["advanced", "won", "lost", "open"]


def days_between(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / DAY)


@dataclass(frozen=True, slots=True)
class Stay:
    position: int
    start: datetime
    end: datetime
    ending: Ending
    """How the stay ended: advanced, won or lost, or still open at `end` (censored)."""


@dataclass(frozen=True, slots=True)
class DealHistory:
    key: int
    process: int | None
    created_at: datetime
    reached: tuple[tuple[int, datetime], ...]
    """(position, first time reached), in time order."""
    outcome: str = "open"
    closed_at: datetime | None = None
    amount: float = 0.0
    owner: int | None = None
    team: str | None = None
    segment: str | None = None
    connection: int | None = None
    last_action_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.outcome == "open"

    def position_at(self, moment: datetime) -> tuple[int, datetime]:
        """Highest position reached by `moment`, and since when."""
        position, since = 0, self.created_at
        for reached_position, at in self.reached:
            if at > moment:
                break
            if reached_position > position:
                position, since = reached_position, at
        return position, since

    def first_reached(self, position: int) -> datetime | None:
        for reached_position, at in self.reached:
            if reached_position == position:
                return at
        return None

    def reached_at_least(self, position: int) -> datetime | None:
        """First time a position at or above `position` was reached."""
        for reached_position, at in self.reached:
            if reached_position >= position:
                return at
        return None

    def as_of(self, moment: datetime) -> DealHistory | None:
        """The history as it was known at `moment` (None if not yet created)."""
        if self.created_at > moment:
            return None
        closed = self.closed_at is not None and self.closed_at <= moment
        return replace(
            self,
            reached=tuple(r for r in self.reached if r[1] <= moment),
            outcome=self.outcome if closed else "open",
            closed_at=self.closed_at if closed else None,
        )

    def before(self, moment: datetime, amount: float | None = None) -> DealHistory | None:
        """The history as it was known strictly before `moment`: nothing at or after it (a
        win dated on the day that starts at `moment` is not known yet). None if created at or
        after `moment`; `amount` is the amount as it stood then, where known."""
        if self.created_at >= moment:
            return None
        closed = self.closed_at is not None and self.closed_at < moment and not self.is_open
        last = self.last_action_at
        return replace(
            self,
            reached=tuple(r for r in self.reached if r[1] < moment),
            outcome=self.outcome if closed else "open",
            closed_at=self.closed_at if closed else None,
            amount=self.amount if amount is None else amount,
            last_action_at=last if last is not None and last < moment else None,
        )

    def stays(self, as_of: datetime) -> Iterator[Stay]:
        """The spans spent at each position, up to closing or `as_of` (censored)."""
        end_of_life = self.closed_at if self.closed_at is not None else as_of
        if end_of_life > as_of:
            end_of_life = as_of
        position, since = 0, self.created_at
        for reached_position, at in self.reached:
            if at > end_of_life:
                break
            if reached_position <= position:
                continue
            yield Stay(position, since, max(at, since), "advanced")
            position, since = reached_position, max(at, since)
        if self.closed_at is not None and self.closed_at <= as_of and self.outcome != "open":
            ending: Ending = "won" if self.outcome == "won" else "lost"
        else:
            ending = "open"
        yield Stay(position, since, max(end_of_life, since), ending)
