"""Milestone value: does a milestone earn its place in the process? Per process and milestone,
the win rate of deals that reached it against comparable deals that had not yet (same process,
same previous milestone, similar days there: `app.kpis.value`), the time the step adds, and how
often it is reached only after a later one. Milestones whose lift is not clear over every test
of the answer (Benjamini-Hochberg) add no information; the process could do without them, or
their rules catch the wrong records.

    answer = milestone_value(snapshot, Filters(process="smb_new_business"))
    answer.no_information, answer.out_of_order
"""

from __future__ import annotations

import numpy as np

from app.kpis import drift as stats
from app.kpis import value as lifts
from app.kpis.columns import Floats, epoch
from app.services.health.drift import estimate
from app.services.health.public import MilestoneValue, ValueAnswer
from app.services.kpis.filters import Filters
from app.services.kpis.queries import deal_mask, process_groups
from app.services.kpis.snapshot import Snapshot

__all__ = ["METHOD", "OFTEN_OUT_OF_ORDER", "milestone_value", "outcomes"]

OFTEN_OUT_OF_ORDER = 0.2
"""One deal in five reaching a milestone after a later one: the order no longer describes how
customers buy (a few late-logged records never reach that share)."""

METHOD = (
    "For each milestone, the deals that reached it straight from the milestone before it are "
    "compared with comparable deals that had not reached it yet: same process, same previous "
    "milestone, and still there and open at the same age (days since the previous milestone, "
    "in bands 0-7, 7-14, 14-28, 28-56, 56-112 and 112+ days). The outcome is winning within "
    f"{lifts.HORIZON_DAYS:.0f} days, estimated per group as the Aalen-Johansen cumulative "
    "incidence of winning (losing competes; open deals are censored now), so deals still "
    "open count for as long as they have been seen; the comparable chance is weighted like "
    "the deals that reached it. Lift = the difference, "
    "with a 95 % interval and a two-sided z-test; a milestone with at least "
    f"{lifts.MIN_DEALS} deals on each side whose lift is not clear after Benjamini-Hochberg at "
    f"{stats.FALSE_DISCOVERY_RATE:.0%} over every milestone of the answer adds no information. "
    "Days added: median days from the previous milestone to it. Out of order: reached only "
    f"after a later milestone; named when that is at least {OFTEN_OUT_OF_ORDER:.0%} of the "
    "deals that reached it."
)


def outcomes(snapshot: Snapshot, rows: np.ndarray) -> np.ndarray:
    """1 won, 0 lost, -1 open: the outcome coding of `app.kpis.value`."""
    outcome = snapshot.columns.outcome[rows]
    return np.where(outcome == 1, lifts.WON, np.where(outcome == 2, lifts.LOST, lifts.OPEN))


def _first_after(reach: Floats, position: int) -> Floats:
    later = reach[:, position + 1 :]
    first: Floats = np.where(np.isnan(later), np.inf, later).min(axis=1, initial=np.inf)
    return first


def _said(value: MilestoneValue) -> str:
    where = f"{value.previous_name} → {value.name}"
    if value.reached is None or value.comparable is None or value.lift is None:
        text = f"{where}: too few deals with a known outcome to compare"
    else:
        text = (
            f"{where}: {value.reached.value:.0%} of the deals that reached it won, against "
            f"{value.comparable.value:.0%} of comparable deals that had not yet "
            f"({value.lift * 100:+.0f} points, {value.verdict})"
        )
    if value.days_added is not None:
        text += f"; the step takes {value.days_added.value:.1f} days (median)"
    if value.often_out_of_order and value.out_of_order_share is not None:
        text += f"; {value.out_of_order_share:.0%} reach it after a later milestone"
    return text


def milestone_value(snapshot: Snapshot, filters: Filters) -> ValueAnswer:
    """Every milestone of every selected process, valued against comparable deals."""
    cols = snapshot.columns
    mask = deal_mask(snapshot, filters)
    now = epoch(snapshot.as_of)
    found: list[tuple[MilestoneValue, lifts.Lift | None]] = []
    for group in process_groups(snapshot, filters):
        process = group.info
        rows = np.nonzero(mask & np.isin(cols.process, group.ids))[0]
        reach = cols.reach[rows]
        closed = np.where(np.isnan(cols.closed[rows]), np.inf, cols.closed[rows])
        outcome = outcomes(snapshot, rows)
        previous = ("created", "Opportunity created", 0)
        for milestone in process.milestones:
            p, q = milestone.position, previous[2]
            if p >= reach.shape[1]:
                reach = np.concatenate(
                    [reach, np.full((reach.shape[0], p + 1 - reach.shape[1]), np.nan)], axis=1
                )
            start = reach[:, q]
            advance = _first_after(reach, q)
            direct = ~np.isnan(reach[:, p]) & (reach[:, p] == advance)
            event = np.where(direct, reach[:, p], np.nan)
            there = ~np.isnan(start)
            lift = lifts.matched_lift(
                np.zeros(int(there.sum()), dtype=np.int64),
                start[there],
                np.minimum(advance, closed)[there],
                event[there],
                outcome[there],
                closed[there],
                now,
            )
            reached, late = lifts.out_of_order(reach, p)
            days = lifts.step_days(start, event)
            value = MilestoneValue(
                process=process.key,
                milestone=milestone.key,
                name=milestone.name,
                previous=previous[0],
                previous_name=previous[1],
                reached_deals=reached,
                reached=None if lift is None else estimate(lift.reached, 4),
                comparable=None if lift is None else estimate(lift.comparable, 4),
                lift=None if lift is None else round(lift.difference, 4),
                lift_low=None if lift is None else round(lift.low, 4),
                lift_high=None if lift is None else round(lift.high, 4),
                ratio=None if lift is None or lift.ratio is None else round(lift.ratio, 3),
                p_value=None if lift is None else float(f"{lift.test.p_value:.3g}"),
                verdict="too few deals",
                days_added=estimate(days, 2),
                out_of_order=late,
                out_of_order_share=round(late / reached, 4) if reached else None,
                often_out_of_order=reached >= lifts.MIN_DEALS
                and late / reached >= OFTEN_OUT_OF_ORDER,
                summary="",
            )
            found.append((value, lift))
            previous = (milestone.key, milestone.name, p)
    rejected = iter(
        stats.benjamini_hochberg([lift.test.p_value for _, lift in found if lift is not None])
    )
    values = []
    for value, lift in found:
        if lift is not None:
            verdict = "adds information" if next(rejected) else "adds no information"
            value = value.model_copy(update={"verdict": verdict})
        values.append(value.model_copy(update={"summary": _said(value)}))
    return ValueAnswer(
        filters=filters,
        as_of=snapshot.as_of,
        method=METHOD,
        false_discovery_rate=stats.FALSE_DISCOVERY_RATE,
        milestones=values,
        no_information=[
            f"{v.process}: {v.milestone}" for v in values if v.verdict == "adds no information"
        ],
        out_of_order=[f"{v.process}: {v.milestone}" for v in values if v.often_out_of_order],
    )
