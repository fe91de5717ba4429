"""Progress value: what the customer's latest steps added to a deal's expected value.

For every milestone reached in the period that moved the deal forward (a position above any
it had reached before), (P(win | new position) - P(win | previous position)) * amount, with
P(win | position) the forecast's eventual win probability on arriving there, non-decreasing
along the process (`WinModel.arrival_win`). It rises the day the customer acts, long before
anything is won, and a step forward never lowers it.

    advances(deal, start, end)          # [(position, previous position, when), ...]
    progress_value(deal, model, start, end)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.kpis.history import DealHistory
from app.kpis.winmodel import WinModel

__all__ = ["Advance", "advances", "progress_value"]


@dataclass(frozen=True, slots=True)
class Advance:
    position: int
    previous: int
    at: datetime


def advances(deal: DealHistory, start: datetime, end: datetime) -> list[Advance]:
    """Milestones first reached in [start, end) that took the deal above every earlier one."""
    found: list[Advance] = []
    highest = 0
    for position, at in deal.reached:
        if at >= end:
            break
        if position > highest:
            if at >= start:
                found.append(Advance(position, highest, at))
            highest = position
    return found


def progress_value(deal: DealHistory, model: WinModel, start: datetime, end: datetime) -> float:
    total = 0.0
    for step in advances(deal, start, end):
        gained = model.arrival_win(deal.process, step.position).value
        lost = model.arrival_win(deal.process, step.previous).value
        total += (gained - lost) * deal.amount
    return total
