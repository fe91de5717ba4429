"""From CRM export files to milestone events, through the real connectors and the raw layer.

A small generated history is imported by an export connection per CRM (the connectors'
own readers fill the raw layer), the shipped example for that CRM is activated, and the first
event per deal and milestone is compared with the generator's truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.crypto import SecretBox, generate_key
from app.core.database import Database
from app.models import Milestone, MilestoneEvent, Opportunity
from app.services.connections.registry import create_connection
from app.services.mapping.activation import activate_ruleset
from app.services.sync.runs import sync_connection
from bench.mapping_accuracy import score, truth
from mappings import EXAMPLES
from sandbox.history import build_params, generate


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    generate(build_params(seed=5, size="small"), out, force=True)
    return out


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_imported_exports_map_to_the_true_milestones(db: Database, export: Path, crm: str) -> None:
    box = SecretBox([generate_key().encode()])
    with db.session() as session:
        create_connection(
            session,
            box,
            name=f"{crm}-export",
            settings={"kind": "export", "path": str(export), "crm": crm},
            secrets={},
        )
    report = sync_connection(db, box, f"{crm}-export")
    assert report.model_dump(mode="json")
    result = activate_ruleset(db, (EXAMPLES / f"{crm}.yaml").read_text(), f"{crm}.yaml")
    first: dict[tuple[str, str], datetime] = {}
    with db.session() as session:
        rows = session.execute(
            select(Opportunity.external_id, Milestone.key, MilestoneEvent.occurred_at)
            .join(Opportunity, Opportunity.id == MilestoneEvent.opportunity_id)
            .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
            .where(MilestoneEvent.ruleset_version_id == result.version_id)
        )
        for external_id, key, occurred_at in rows:
            if (external_id, key) not in first or occurred_at < first[(external_id, key)]:
                first[(external_id, key)] = occurred_at
        outcomes = dict(
            (row[0], row[1]) for row in session.execute(select(Opportunity.outcome, Opportunity.id))
        )
    assert {"won", "lost", "open"} <= set(outcomes)
    for row in score(first, truth(export, crm), timedelta(hours=24)):
        assert row["precision"] >= 0.95 and row["recall"] >= 0.95, row
