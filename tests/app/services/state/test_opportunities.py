"""Opportunity state follows the events and the CRM record, one opportunity at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core.database import Database
from app.models import Milestone, Opportunity, OpportunityState
from app.services.mapping.activation import activate_ruleset
from app.services.mapping.runs import derive_changed
from app.services.state.opportunities import segment_of
from tests.app.services.mapping.mapping_world import (
    SALESFORCE_RULES,
    email,
    opportunity,
    seed_salesforce,
    sf,
    store,
)

REPLY_AT = datetime(2025, 3, 3, 10, tzinfo=UTC)


@pytest.fixture
def world(db: Database) -> tuple[int, int]:
    connection_id = seed_salesforce(db)
    result = activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    return connection_id, result.version_id


def _state(db: Database, external_id: str) -> OpportunityState:
    with db.session() as session:
        return session.scalars(
            select(OpportunityState)
            .join(Opportunity, Opportunity.id == OpportunityState.opportunity_id)
            .where(Opportunity.external_id == external_id)
        ).one()


def test_activation_builds_the_state_of_every_opportunity(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    state = _state(db, "006A")
    assert state.ruleset_version_id == version_id
    assert (state.current_position, state.current_since) == (1, REPLY_AT)
    assert state.reached == {"1": REPLY_AT.isoformat()}
    assert (state.last_customer_action_at, state.last_customer_action_kind) == (REPLY_AT, "writes")
    assert (state.outcome, state.amount, state.team, state.segment) == (
        "open",
        6500,
        "SMB North",
        "SMB",
    )
    assert state.connection_id == connection_id and state.created_at is not None
    assert state.close_date is not None and state.stage_probability == 10
    with db.session() as session:
        milestone = session.get(Milestone, state.current_milestone_id)
        assert milestone is not None and milestone.key == "reply"
    untouched = _state(db, "006X")
    assert (untouched.current_position, untouched.reached) == (0, {})


def test_a_new_event_moves_only_its_opportunity(db: Database, world: tuple[int, int]) -> None:
    connection_id, version_id = world
    before = _state(db, "006X").updated_at
    store(
        db,
        connection_id,
        "EmailMessage",
        email(
            "02sPROP",
            Subject="Proposal please",
            TextBody="Could you send us a proposal for 20 seats?",
            MessageDate="2025-03-10T09:00:00.000+0000",
        ),
    )
    derive_changed(db, version_id, connection_id, lookback=timedelta(0))
    state = _state(db, "006A")
    assert state.current_position >= 1
    assert "1" in state.reached
    assert _state(db, "006X").updated_at == before


def test_outcome_and_amount_follow_the_crm_record(db: Database, world: tuple[int, int]) -> None:
    connection_id, version_id = world
    store(
        db,
        connection_id,
        "Opportunity",
        opportunity(
            "006A",
            IsClosed=True,
            IsWon=True,
            StageName="Closed Won",
            Amount=7000,
            LastStageChangeDate="2025-04-01T12:00:00.000+0000",
        ),
    )
    derive_changed(db, version_id, connection_id)
    state = _state(db, "006A")
    assert (state.outcome, state.amount) == ("won", 7000)
    assert state.closed_at == datetime(2025, 4, 1, 12, tzinfo=UTC)


def test_a_withdrawn_event_moves_the_state_back(db: Database, world: tuple[int, int]) -> None:
    connection_id, version_id = world
    store(db, connection_id, "EmailMessage", email("02sREPLY"), deleted=True)
    derive_changed(db, version_id, connection_id)
    state = _state(db, "006A")
    assert (state.current_position, state.reached, state.last_customer_action_at) == (0, {}, None)


def test_a_deleted_opportunity_is_marked_deleted(db: Database, world: tuple[int, int]) -> None:
    connection_id, version_id = world
    store(db, connection_id, "Opportunity", opportunity("006A"), deleted=True)
    derive_changed(db, version_id, connection_id)
    assert _state(db, "006A").deleted


def test_a_rep_who_moves_team_moves_the_state_of_their_opportunities(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    assert _state(db, "006A").team == "SMB North"
    before = _state(db, "006A").updated_at
    store(
        db,
        connection_id,
        "User",
        sf("User", "005A", Name="Jana Schmidt", Department="SMB South", IsActive=True),
    )
    derive_changed(db, version_id, connection_id, lookback=timedelta(0))
    state = _state(db, "006A")
    assert state.team == "SMB South" and state.updated_at > before


def test_segment_of_a_selector() -> None:
    assert segment_of({"segment": {"Segment__c": "SMB", "Type": "New Business"}}) == "SMB"
    assert segment_of({"segment": {"pipeline": "smb"}}) == "smb"
    assert segment_of({}) is None
