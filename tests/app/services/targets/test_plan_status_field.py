"""The optional plan status field: off by default, and, switched on, each open deal of a
process with a target this period carries on track or behind, written back like any field.
Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

from app.core.crypto import SecretBox
from app.core.database import Database
from app.services.targets.periods import Period
from app.services.targets.public import TargetSet
from app.services.targets.records import set_target
from app.services.writeback.crm_fields import setup_fields
from app.services.writeback.fields import WritebackSettings, field_set
from tests.support.writeback_world import crm_world

FIELD = "Milestones_Team_Plan_Status__c"


def test_the_field_is_off_unless_switched_on() -> None:
    default = field_set("salesforce", WritebackSettings())
    assert "team_plan_status" not in {f.key for f in default.opportunity.fields}
    on = WritebackSettings.model_validate({"fields": {"team_plan_status": {"enabled": True}}})
    names = [f.definition.name for f in field_set("hubspot", on).opportunity.fields]
    assert names[-1] == "ms_team_plan_status"


def test_open_deals_under_a_target_carry_its_status(
    db: Database, box: SecretBox, sales_history: Path
) -> None:
    with crm_world(db, box, sales_history, "salesforce") as world:
        world.connect(writeback={"fields": {"team_plan_status": {"enabled": True}}})
        quarter = Period.containing("quarter", world.store.snapshot().as_of)
        with db.session() as session:
            set_target(
                session,
                TargetSet(process="smb_new_business", period=quarter.label, amount=500_000),
            )
        created = setup_fields(db, box, world.name, "create")
        assert created.ok and f"Opportunity.{FIELD}" in created.created
        report = world.writeback(crm_clock=True)
        assert report.status == "succeeded", report
        snapshot = world.store.snapshot()
        smb = {p.id for p in snapshot.processes.values() if p.key == "smb_new_business"}
        written = {r.external_id: r.written_values[FIELD] for r in world.records().values()}
        by_external = {snapshot.external_ids[row]: row for row in range(len(snapshot.columns))}
        for external_id, value in written.items():
            row = by_external[external_id]
            covered = int(snapshot.columns.process[row]) in smb
            if covered and snapshot.columns.outcome[row] == 0:
                assert value.startswith(("On track", "Behind", "Out of reach")), value
                assert f"smb_new_business {quarter.label}" in value and len(value) <= 255
            else:
                assert value is None, (external_id, value)
        assert any(v is not None for v in written.values())
        row = world.sandbox.salesforce.get(next(k for k, v in written.items() if v))
        assert row is not None and row[1][FIELD].startswith(("On track", "Behind", "Out of"))
