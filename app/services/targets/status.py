"""The plan status each open deal carries into the CRM (the optional `team_plan_status`
write-back field): on track or behind for the target that covers it this period, and the
movement needed this week.

The target that covers a deal is the one of this month, else of this quarter, for its owner,
else its team, else its whole process (the narrowest: what the owner is measured on).

    statuses = plan_statuses(database, snapshot)     # {opportunity id: text}
"""

from __future__ import annotations

from app.core.database import Database
from app.core.errors import ConflictError
from app.services.kpis.filters import Filters
from app.services.kpis.queries import deal_mask as scope_mask
from app.services.kpis.snapshot import Snapshot
from app.services.targets.plan import target_plan
from app.services.targets.public import TargetPlan, TargetPublic
from app.services.targets.records import current_targets

__all__ = ["STATUS_LENGTH", "plan_statuses", "status_text"]

STATUS_LENGTH = 255
_LABELS = {
    "not_started": "Not started",
    "on_track": "On track",
    "behind": "Behind",
    "reached": "Reached",
    "missed": "Missed",
    "unreachable": "Out of reach",
}


def _scope(target: TargetPublic) -> str:
    if target.owner is not None:
        return f"rep target {target.period}"
    if target.team is not None:
        return f"team {target.team} {target.period}"
    return f"{target.process} {target.period}"


def status_text(plan: TargetPlan) -> str:
    """One line: the status, whose target, and the first action it needs this week."""
    action = ""
    if plan.track is not None:
        behind = [m for m in plan.track.milestones if m.status == "behind"]
        action = behind[0].message if behind else ""
    text = f"{_LABELS[plan.status]} ({_scope(plan.target)})" + (f": {action}" if action else "")
    return text[:STATUS_LENGTH]


def _narrowness(target: TargetPublic) -> tuple[int, int]:
    scope = 2 if target.owner is not None else 1 if target.team is not None else 0
    return scope, 1 if target.period_kind == "month" else 0


def plan_statuses(database: Database, snapshot: Snapshot) -> dict[int, str]:
    """Per open opportunity with a target covering it this period: its status line."""
    now = snapshot.as_of
    with database.sessions() as session:
        targets = current_targets(session, now)
    cols = snapshot.columns
    covered: dict[int, str] = {}
    for target in sorted(targets, key=_narrowness):  # narrower ones overwrite broader ones
        try:
            text = status_text(target_plan(snapshot, target))
        except ConflictError:  # its process is in no active ruleset
            continue
        mask = scope_mask(
            snapshot, Filters(process=target.process, team=target.team, owner=target.owner)
        )
        for key in cols.key[mask & (cols.outcome == 0)].tolist():
            covered[int(key)] = text
    return covered
