"""An opportunity's milestone events in the active ruleset version, each with its evidence:
the CRM record that proves the customer acted (DESIGN.md, rule 1)."""

from __future__ import annotations

from sqlalchemy import select

from app.core.database import Database
from app.models import Milestone, MilestoneEvent
from app.services.kpis.rows import Evidence, TimelineEvent

__all__ = ["opportunity_timeline"]


def opportunity_timeline(
    database: Database, opportunity_id: int, version_id: int | None
) -> list[TimelineEvent]:
    """The events of one opportunity in time order."""
    with database.session() as session:
        events = session.execute(
            select(
                MilestoneEvent.occurred_at,
                Milestone.key,
                Milestone.name,
                Milestone.kind,
                MilestoneEvent.rule_key,
                MilestoneEvent.evidence_stream,
                MilestoneEvent.evidence_external_id,
                MilestoneEvent.evidence_url,
            )
            .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
            .where(
                MilestoneEvent.opportunity_id == opportunity_id,
                MilestoneEvent.ruleset_version_id == version_id,
            )
            .order_by(MilestoneEvent.occurred_at)
        ).all()
    return [
        TimelineEvent(at, key, name, kind, rule, Evidence(stream, external_id, url))
        for at, key, name, kind, rule, stream, external_id, url in events
    ]
