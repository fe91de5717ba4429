"""An opportunity's milestone events in the ruleset version active on its connection, each
with its evidence: the CRM record that proves the customer acted (DESIGN.md, rule 1)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from app.core.database import Database
from app.models import Milestone, MilestoneEvent, Opportunity
from app.services.kpis.past import attributed_by
from app.services.kpis.rows import Evidence, TimelineEvent

__all__ = ["opportunity_timeline"]


def opportunity_timeline(
    database: Database,
    opportunity_id: int,
    versions: Mapping[int, int],
    as_of: datetime | None = None,
) -> list[TimelineEvent]:
    """The events of one opportunity in time order, under the version `versions` (connection
    id -> version id, as the KPI view read them) says is active on its connection; at a past
    `as_of`, those by then that an export taken then attributes to it."""
    with database.session() as session:
        connection_id = session.scalar(
            select(Opportunity.connection_id).where(Opportunity.id == opportunity_id)
        )
        version_id = versions.get(connection_id or 0)
        if version_id is None:
            return []
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
                *(
                    ()
                    if as_of is None
                    else (MilestoneEvent.occurred_at <= as_of, attributed_by(as_of))
                ),
            )
            .order_by(MilestoneEvent.occurred_at)
        ).all()
    return [
        TimelineEvent(at, key, name, kind, rule, Evidence(stream, external_id, url))
        for at, key, name, kind, rule, stream, external_id, url in events
    ]
