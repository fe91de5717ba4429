"""Opportunity state read out of the database as columns: all of it, or what changed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.core.database import Database
from app.models import OpportunityState
from app.models.base import utcnow
from app.services.kpis.loader import load_processes, load_state_rows
from app.services.kpis.snapshot import Labels
from app.services.state.active import active_versions
from tests.support.kpi_world import build


def test_a_full_load_then_only_the_rows_updated_since(db: Database) -> None:
    build(db, deals=30)
    labels = Labels()
    with db.session() as session:
        versions = active_versions(session)
        processes = load_processes(session, set(versions.values()))
        width = 1 + max(m.position for p in processes.values() for m in p.milestones)
        everything = load_state_rows(session, versions, None, width, labels)
        assert len(everything.columns) == len(everything.names) == 30
        assert everything.columns.positions == width
        assert sorted(labels.teams) == sorted(set(labels.teams))
        later = utcnow() + timedelta(minutes=1)
        session.execute(
            update(OpportunityState)
            .where(OpportunityState.opportunity_id == 3)
            .values(team="West", updated_at=later + timedelta(seconds=1))
        )
        changed = load_state_rows(session, versions, later, width, labels)
    assert changed.columns.key.tolist() == [3]
    assert labels.teams[int(changed.columns.team[0])] == "West"
