"""KPIs over several connections, each mapped by its own active ruleset version: processes
alike (same key, same milestones) are counted together, and every KPI filters by connection."""

from __future__ import annotations

from sqlalchemy import select

from app.core.database import Database
from app.models import Opportunity
from app.services.kpis.filters import Filters
from app.services.kpis.queries import funnel, opportunity_detail, velocity
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.services.kpis.timeline import opportunity_timeline
from app.services.mapping.activation import activate_ruleset
from tests.app.services.mapping.mapping_world import (
    HUBSPOT_RULES,
    SALESFORCE_RULES,
    seed_hubspot,
    seed_salesforce,
)

SMB = "smb_new_business"


def _reached(snapshot: Snapshot, connection: str | None) -> dict[str, int]:
    answer = funnel(snapshot, Filters(process=SMB, connection=connection))
    (process,) = answer.processes
    return {step.milestone: step.reached for step in process.milestones}


def test_a_salesforce_org_and_a_hubspot_portal_in_one_view(db: Database) -> None:
    seed_salesforce(db)
    portal = seed_hubspot(db)
    activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    activate_ruleset(db, HUBSPOT_RULES, "hubspot.yaml")
    snapshot = KpiStore(db).snapshot()
    (smb,) = funnel(snapshot, Filters(process=SMB)).processes
    assert smb.ruleset_versions == [1, 2]  # one process, as both rule files describe it
    both, acme, hubspot = (_reached(snapshot, c) for c in (None, "acme", "portal"))
    assert acme == {
        "created": 1,
        "reply": 1,
        "meeting_held": 0,
        "proposal_requested": 0,
        "signed": 0,
    }
    assert hubspot == dict(created=1, reply=0, meeting_held=1, proposal_requested=0, signed=0)
    assert both == {key: acme[key] + hubspot[key] for key in both}
    (speed,) = velocity(snapshot, Filters(process=SMB, connection="portal")).processes
    assert speed.ruleset_versions == [1, 2] and speed.steps[0].sample == 1

    # a deal's own timeline: the events of the version active on its connection
    with db.session() as session:
        deal = session.scalar(select(Opportunity.id).where(Opportunity.connection_id == portal))
    assert deal is not None
    row = opportunity_detail(snapshot, deal)
    assert (row.milestone, row.connection) == ("meeting_held", "portal")
    (event,) = opportunity_timeline(db, deal, snapshot.versions)
    assert (event.milestone, event.evidence.stream) == ("meeting_held", "meetings")
