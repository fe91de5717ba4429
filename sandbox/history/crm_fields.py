"""The deal's CRM fields as reps keep them: stage, amount, close date, forecast category, owner.

Reps react to the customer late or not at all, sometimes move the stage further than the
customer went, re-estimate amounts, push close dates that have passed, set forecast categories
by feel, close deals lost after a silence (and re-open them when the customer comes back). The
result is the list of `DealState`s the renderers turn into Opportunity versions,
OpportunityHistory rows and HubSpot property history.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable
from random import Random

from sandbox.history.clock import DAY, add_business_days, next_business_moment, to_datetime
from sandbox.history.journey import CrmEvent
from sandbox.history.model import Deal, DealState, Rep
from sandbox.history.params import LOST_STAGE, STAGES, WON_STAGE, Noise

__all__ = ["build_states"]


def _month_end(t: int) -> int:
    moment = to_datetime(t)
    last = calendar.monthrange(moment.year, moment.month)[1]
    return t // DAY + (last - moment.day)


def _close_day(rng: Random, t: int, days: float) -> int:
    target = t + int(days * DAY)
    return _month_end(target) if rng.random() < 0.6 else target // DAY


def _rounded(amount: float) -> float:
    step = 500.0 if amount >= 20_000 else 100.0
    return max(step, round(amount / step) * step)


def build_states(
    deal: Deal,
    events: list[CrmEvent],
    rng: Random,
    noise: Noise,
    owner_at: Callable[[Deal, int], Rep],
) -> list[DealState]:
    process = deal.process
    events = sorted(events)
    created = deal.created_at
    estimate = _rounded(deal.true_amount * rng.lognormvariate(0.0, 0.25))
    # Reps are optimistic: the first close date is set before most deals could close.
    first_close = _close_day(rng, created, process.cycle_days * rng.lognormvariate(-0.35, 0.35))
    entry = process.entry_stage
    states = [DealState(created, entry, estimate, first_close, STAGES[entry].forecast, deal.owner)]
    lag_median = math.log(noise.stage_lag_median_days)

    def push(at: int, **changes: object) -> None:
        last = states[-1]
        at = max(at, last.at + 1)
        state = DealState(at, last.stage, last.amount, last.close_day, last.forecast, last.owner)
        for name, value in changes.items():
            setattr(state, name, value)
        state.owner = owner_at(deal, at)
        states.append(state)

    def slip_until(t: int) -> None:
        """Push close dates that passed while the deal was open, up to time `t`."""
        while not STAGES[states[-1].stage].is_closed:
            due = (states[-1].close_day + 1) * DAY
            noticed = next_business_moment(due + int(rng.random() * 7 * DAY))
            if noticed >= t:
                return
            push(noticed, close_day=_close_day(rng, noticed, 14 + rng.random() * 31))

    for at, kind, index in events[1:]:
        slip_until(at)
        current = states[-1]
        if kind == "ahead":
            if current.stage == entry:
                push(at, stage=entry + 1, forecast=STAGES[entry + 1].forecast)
        elif kind == "step":
            step = process.steps[index]
            target = process.stage_after_step[index]
            if target == WON_STAGE or rng.random() < noise.stage_update_skipped:
                continue
            if rng.random() < noise.stage_ahead and target + 1 < WON_STAGE:
                target += 1
            when = add_business_days(at, rng.lognormvariate(lag_median, 0.9))
            changes: dict[str, object] = {}
            if target > current.stage:
                changes["stage"] = target
                changes["forecast"] = STAGES[target].forecast
            if step.key == "meeting_held" and rng.random() < 0.3:
                changes["amount"] = _rounded(deal.true_amount * rng.lognormvariate(0.0, 0.15))
            elif step.key == "proposal_requested":
                changes["amount"] = _rounded(deal.true_amount * (1.0 + rng.random() * 0.15))
                early = rng.random() < noise.early_commit
                changes["forecast"] = "Commit" if early else "Best Case"
            elif step.key == "verbal_yes":
                changes["forecast"] = "Commit"
            if rng.random() < 0.3:
                remaining = process.cycle_days * (1.0 - (index + 1) / len(process.steps)) + 7
                changes["close_day"] = _close_day(rng, when, remaining)
            if changes:
                push(when, **changes)
        elif kind == "won":
            push(
                at,
                stage=WON_STAGE,
                amount=_rounded(deal.true_amount),
                close_day=at // DAY,
                forecast="Closed",
            )
        elif kind == "lost":
            push(at, stage=LOST_STAGE, close_day=at // DAY, forecast="Omitted")
        elif kind == "reopen":
            when = add_business_days(at, rng.random() * 2)
            stage = max(process.stage_after_step[index] - 1, entry)
            push(
                when,
                stage=stage,
                close_day=_close_day(rng, when, 30),
                forecast=STAGES[stage].forecast,
            )
    return states
