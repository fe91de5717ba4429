"""A small sales history straight into the tables, with state built by the state service.

One connection, one active ruleset version with process `smb` (milestones reply = 1,
meeting = 2, proposal = 3), two reps: 005A (team North) and 005B (team South). Deals were
created every 3 days over a year; each walks the milestones while `i % 5` allows and is won
when it gets to the proposal and `i % 3 == 0`, lost otherwise; the last 20 are still open.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from app.core.database import Database
from app.models import (
    Connection,
    CrmOwner,
    Milestone,
    MilestoneEvent,
    Opportunity,
    OpportunityProcess,
    Process,
    RulesetActivation,
    RulesetVersion,
)
from app.services.state.opportunities import rebuild_states

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=365)


def build(database: Database, deals: int = 120) -> dict[str, int]:
    with database.session() as session:
        connection = Connection(name="crm", kind="salesforce", credentials_sealed="-")
        version = RulesetVersion(version=1, name="v1", source="", checksum="x")
        session.add_all([connection, version])
        session.flush()
        session.add(RulesetActivation(connection_id=connection.id, ruleset_version_id=version.id))
        process = Process(
            ruleset_version_id=version.id,
            key="smb",
            name="SMB",
            position=0,
            segment_selector={"segment": {"Segment__c": "SMB"}},
        )
        session.add(process)
        session.flush()
        milestones = [
            Milestone(
                process_id=process.id,
                key=key,
                name=key.title(),
                position=i + 1,
                kind=kind,
                guidance=f"Next: get the {key}",
            )
            for i, (key, kind) in enumerate(
                (("reply", "writes"), ("meeting", "does"), ("proposal", "says"))
            )
        ]
        owners = [
            CrmOwner(connection_id=connection.id, external_id="005A", name="Ann", team="North"),
            CrmOwner(connection_id=connection.id, external_id="005B", name="Bob", team="South"),
        ]
        session.add_all([*milestones, *owners])
        session.flush()
        ids = {
            "connection": connection.id,
            "version": version.id,
            "process": process.id,
            "owner_a": owners[0].id,
            "owner_b": owners[1].id,
        }
        milestone_ids = [m.id for m in milestones]
    opportunities, events, links = [], [], []
    for i in range(deals):
        created = START + timedelta(days=3 * i * 365 / (3 * deals))
        steps = min(3, i % 5)
        open_deal = i >= deals - 20
        closed_at = None if open_deal else created + timedelta(days=4 * steps + 5)
        won = not open_deal and steps == 3 and i % 3 == 0
        opportunities.append(
            {
                "id": i + 1,
                "connection_id": ids["connection"],
                "external_id": f"006{i:05d}",
                "name": f"Deal {i}",
                "owner_id": ids["owner_a"] if i % 2 == 0 else ids["owner_b"],
                "amount": 1000 + 10 * i,
                "stage_probability": 20,
                "close_date": (NOW + timedelta(days=20)).date(),
                "outcome": "open" if open_deal else ("won" if won else "lost"),
                "closed_at": closed_at,
                "crm_created_at": created,
                "deleted": False,
                "updated_at": NOW,
            }
        )
        links.append(
            {
                "ruleset_version_id": ids["version"],
                "opportunity_id": i + 1,
                "process_id": ids["process"],
            }
        )
        for step in range(steps):
            events.append(
                {
                    "ruleset_version_id": ids["version"],
                    "opportunity_id": i + 1,
                    "milestone_id": milestone_ids[step],
                    "occurred_at": min(created + timedelta(days=4 * (step + 1)), NOW),
                    "rule_key": "r",
                    "evidence_connection_id": ids["connection"],
                    "evidence_stream": "Task",
                    "evidence_external_id": f"00T{i:05d}{step}",
                    "evidence_url": f"https://crm.example/00T{i:05d}{step}",
                    "created_at": NOW,
                }
            )
    with database.engine.begin() as db:
        db.execute(insert(Opportunity), opportunities)
        db.execute(insert(OpportunityProcess), links)
        db.execute(insert(MilestoneEvent), events)
        rebuild_states(db, ids["version"], ids["connection"])
    return ids
