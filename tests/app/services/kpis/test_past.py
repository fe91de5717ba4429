"""The view as of a past instant holds an opportunity the CRM deleted later, as it was then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.core.database import Database
from app.kpis.columns import epoch
from app.models import Opportunity
from app.services.kpis.filters import Filters
from app.services.kpis.queries import funnel
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.services.mapping.activation import activate_ruleset
from app.services.mapping.runs import derive_changed
from app.services.sync.raw_records import RawRecordWriter
from connectors.core import Record
from tests.app.services.mapping.mapping_world import (
    SALESFORCE_RULES,
    event_rows,
    opportunity,
    seed_salesforce,
    store,
)

REPLY_AT = datetime(2025, 3, 3, 10, tzinfo=UTC)
WON_AT = datetime(2025, 3, 10, 12, tzinfo=UTC)
DELETED_AT = datetime(2025, 4, 1, 9, tzinfo=UTC)
WON = opportunity(
    "006A",
    StageName="Closed Won",
    IsClosed=True,
    IsWon=True,
    LastStageChangeDate="2025-03-10T12:00:00.000+0000",
)


def _smb(snapshot: Snapshot) -> dict[str, int]:
    """The SMB new-business funnel: deals reaching each step."""
    answer = funnel(snapshot, Filters())
    process = next(p for p in answer.processes if p.process == "smb_new_business")
    return {step.milestone: step.reached for step in process.milestones}


def test_a_deal_deleted_later_is_in_the_past_with_its_milestone_and_outcome(db: Database) -> None:
    connection_id = seed_salesforce(db)
    version_id = activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml").version_id
    store(db, connection_id, "Opportunity", WON)
    derive_changed(db, version_id, connection_id)
    with db.engine.begin() as connection:  # deleted in the CRM at DELETED_AT
        RawRecordWriter(connection, connection_id, "Opportunity").upsert(
            [Record("006A", DELETED_AT, {**WON, "IsDeleted": True}, True)]
        )
    derive_changed(db, version_id, connection_id)
    assert ("006A", "reply", "EmailMessage", "02sREPLY", REPLY_AT) in event_rows(db, version_id)
    with db.session() as session:
        deal = session.scalars(
            select(Opportunity.id).where(Opportunity.external_id == "006A")
        ).one()

    kpis = KpiStore(db, refresh_seconds=0.0)
    today = kpis.snapshot()
    assert today.columns.process[today.row_of[deal]] == -1, "today leaves it out"
    assert _smb(today)["created"] == 0

    before = kpis.at(DELETED_AT - timedelta(days=5))
    row = before.row_of[deal]
    smb = next(p for p in before.processes.values() if p.key == "smb_new_business")
    reply = next(m for m in smb.milestones if m.key == "reply")
    assert before.columns.process[row] == smb.id
    assert before.columns.reach[row, reply.position] == epoch(REPLY_AT)
    assert before.columns.outcome[row] == 1 and before.columns.closed[row] == epoch(WON_AT)
    assert _smb(before)["created"] == 1 and _smb(before)["reply"] == 1
    assert before.deals[deal].outcome == "won"

    reply_day = kpis.at(REPLY_AT + timedelta(hours=1))
    assert reply_day.deals[deal].outcome == "open", "won later"
    assert _smb(reply_day)["reply"] == 1

    after = kpis.at(DELETED_AT + timedelta(seconds=1))
    assert after.columns.process[after.row_of[deal]] == -1, "deleted by then"
    assert _smb(after)["created"] == 0
