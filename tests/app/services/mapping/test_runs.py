"""Mapping runs over the raw layer: full, incremental, idempotent, and following every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.core.database import Database
from app.core.errors import ConflictError
from app.models import (
    CrmOwner,
    MappingCursor,
    MilestoneEvent,
    Opportunity,
    OpportunityProcess,
    Process,
)
from app.services.mapping.activation import activate_ruleset
from app.services.mapping.runs import derive_active, derive_all, derive_changed
from tests.app.services.mapping.mapping_world import (
    SALESFORCE_RULES,
    email,
    event_rows,
    opportunity,
    seed_salesforce,
    sf,
    store,
)
from tests.conftest import ON_POSTGRES

NO_LOOKBACK = timedelta(0)
REPLY_AT = datetime(2025, 3, 3, 10, tzinfo=UTC)


@pytest.fixture
def world(db: Database) -> tuple[int, int]:
    """(connection id, active version id) with the shipped Salesforce example active."""
    connection_id = seed_salesforce(db)
    result = activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    return connection_id, result.version_id


def test_activation_derives_events_from_stored_records(
    db: Database, world: tuple[int, int]
) -> None:
    _, version_id = world
    assert event_rows(db, version_id) == [("006A", "reply", "EmailMessage", "02sREPLY", REPLY_AT)]
    with db.session() as session:
        event = session.scalars(select(MilestoneEvent)).one()
        assert event.rule_key == "customer_email"
        assert (
            event.evidence_url
            == "https://acme.my.salesforce.com/lightning/r/EmailMessage/02sREPLY/view"
        )


def test_opportunities_and_owners_come_from_their_records(
    db: Database, world: tuple[int, int]
) -> None:
    _, version_id = world
    with db.session() as session:
        deal = session.scalars(select(Opportunity).where(Opportunity.external_id == "006A")).one()
        owner = session.get(CrmOwner, deal.owner_id)
        assert (deal.outcome, deal.amount, deal.account_external_id, deal.stage) == (
            "open",
            6500,
            "001A",
            "Qualification",
        )
        assert owner is not None and (owner.name, owner.team) == ("Jana Schmidt", "SMB North")
        processes = {
            row[0]: row[1]
            for row in session.execute(
                select(Opportunity.external_id, Process.key)
                .join(OpportunityProcess, OpportunityProcess.opportunity_id == Opportunity.id)
                .join(Process, Process.id == OpportunityProcess.process_id)
                .where(OpportunityProcess.ruleset_version_id == version_id)
            )
        }
        assert processes == {"006A": "smb_new_business", "006X": "expansion"}


def test_running_again_changes_nothing(db: Database, world: tuple[int, int]) -> None:
    connection_id, version_id = world
    before = event_rows(db, version_id)
    again = derive_all(db, version_id, connection_id)
    assert (again.events_added, again.events_removed, again.events_moved) == (0, 0, 0)
    changed = derive_changed(db, version_id, connection_id)
    assert changed.full is False
    assert (changed.events_added, changed.events_removed, changed.events_moved) == (0, 0, 0)
    assert event_rows(db, version_id) == before


def test_an_incremental_run_reads_only_what_was_stored_since(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    idle = derive_changed(db, version_id, connection_id, lookback=NO_LOOKBACK)
    assert idle.records_read == 0
    store(
        db,
        connection_id,
        "EmailMessage",
        email(
            "02sPROP",
            TextBody="Could you send us a proposal?",
            MessageDate="2025-03-10T09:00:00.000+0000",
        ),
    )
    report = derive_changed(db, version_id, connection_id, lookback=NO_LOOKBACK)
    # It is a reply too (any real customer email is); the first reply stays the earlier one.
    assert report.records_read == 1 and report.events_added == 2
    assert (
        "006A",
        "proposal_requested",
        "EmailMessage",
        "02sPROP",
        datetime(2025, 3, 10, 9, tzinfo=UTC),
    ) in event_rows(db, version_id)
    with db.session() as session:
        cursor = session.scalars(select(MappingCursor)).one()
        assert cursor.synced_through is not None


def test_edits_move_or_withdraw_events_and_deletions_withdraw_them(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    store(
        db,
        connection_id,
        "EmailMessage",
        email("02sREPLY", MessageDate="2025-03-04T11:30:00.000+0000"),
    )
    moved = derive_changed(db, version_id, connection_id)
    assert moved.events_moved == 1 and moved.touched
    assert event_rows(db, version_id) == [
        ("006A", "reply", "EmailMessage", "02sREPLY", datetime(2025, 3, 4, 11, 30, tzinfo=UTC))
    ]
    store(
        db,
        connection_id,
        "EmailMessage",
        email("02sREPLY", Subject="Automatic reply: RE: Brightwave"),
    )
    assert derive_changed(db, version_id, connection_id).events_removed == 1
    assert event_rows(db, version_id) == []
    store(db, connection_id, "EmailMessage", email("02sREPLY"))
    assert derive_changed(db, version_id, connection_id).events_added == 1
    store(db, connection_id, "EmailMessage", email("02sREPLY"), deleted=True)
    assert derive_changed(db, version_id, connection_id).events_removed == 1
    assert event_rows(db, version_id) == []


def test_an_opportunity_stored_later_takes_the_records_that_belong_to_it(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    # Linked to the account only: the nearest open SMB opportunity is 006A.
    store(
        db,
        connection_id,
        "EmailMessage",
        email(
            "02sACCT",
            RelatedToId="001A",
            TextBody="Please send a quote.",
            MessageDate="2025-03-05T09:00:00.000+0000",
        ),
    )
    derive_changed(db, version_id, connection_id)
    assert (
        "006A",
        "proposal_requested",
        "EmailMessage",
        "02sACCT",
        datetime(2025, 3, 5, 9, tzinfo=UTC),
    ) in event_rows(db, version_id)
    # A second SMB opportunity, created before that email, arrives with a later sync.
    store(
        db,
        connection_id,
        "Opportunity",
        opportunity("006B", CreatedDate="2025-02-20T09:00:00.000+0000"),
    )
    report = derive_changed(db, version_id, connection_id)
    assert report.events_added == 2 and report.events_removed == 2  # its reply and proposal
    rows = event_rows(db, version_id)
    assert (
        "006B",
        "proposal_requested",
        "EmailMessage",
        "02sACCT",
        datetime(2025, 3, 5, 9, tzinfo=UTC),
    ) in rows
    assert all(row[3] != "02sACCT" or row[0] == "006B" for row in rows)


def test_a_segment_change_moves_events_to_the_other_process(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    store(
        db,
        connection_id,
        "EmailMessage",
        email(
            "02sSIGN",
            Subject="RE: Order form",
            TextBody="Signed order form attached.",
            HasAttachment=True,
            MessageDate="2025-03-20T09:00:00.000+0000",
        ),
    )
    derive_changed(db, version_id, connection_id)
    keys = {(r[0], r[1]) for r in event_rows(db, version_id)}
    assert {("006A", "reply"), ("006A", "signed")} <= keys
    store(db, connection_id, "Opportunity", opportunity("006A", Type="Existing Business"))
    derive_changed(db, version_id, connection_id)
    with db.session() as session:
        moved = session.execute(
            select(Process.key)
            .join(OpportunityProcess, OpportunityProcess.process_id == Process.id)
            .join(Opportunity, Opportunity.id == OpportunityProcess.opportunity_id)
            .where(
                Opportunity.external_id == "006A",
                OpportunityProcess.ruleset_version_id == version_id,
            )
        ).scalar_one()
    assert moved == "expansion"
    keys = {(r[0], r[1]) for r in event_rows(db, version_id)}
    assert ("006A", "reply") not in keys  # expansion has no reply milestone
    assert ("006A", "signed") in keys  # now the expansion process's milestone


def test_a_deleted_opportunity_loses_its_events_and_is_marked_deleted(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    store(db, connection_id, "Opportunity", opportunity("006A"), deleted=True)
    report = derive_changed(db, version_id, connection_id)
    assert report.events_removed == 1
    assert event_rows(db, version_id) == []
    with db.session() as session:
        assert session.scalars(
            select(Opportunity.deleted).where(Opportunity.external_id == "006A")
        ).one()


def test_a_won_opportunity_reports_its_outcome(db: Database, world: tuple[int, int]) -> None:
    connection_id, _ = world
    store(
        db,
        connection_id,
        "Opportunity",
        opportunity(
            "006A",
            IsClosed=True,
            IsWon=True,
            StageName="Closed Won",
            LastStageChangeDate="2025-04-01T12:00:00.000+0000",
        ),
    )
    derive_active(db)
    with db.session() as session:
        deal = session.scalars(select(Opportunity).where(Opportunity.external_id == "006A")).one()
        assert (deal.outcome, deal.closed_at) == ("won", datetime(2025, 4, 1, 12, tzinfo=UTC))


def test_contact_roles_stored_later_reattribute_contact_only_records(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    store(db, connection_id, "Contact", sf("Contact", "003C", AccountId="001B"))
    store(db, connection_id, "Task", sf("Task", "00TC", WhoId="003C", WhatId=None, AccountId=None))
    store(
        db,
        connection_id,
        "EmailMessage",
        email(
            "02sC",
            RelatedToId=None,
            ActivityId="00TC",
            TextBody="Please send a proposal.",
            MessageDate="2025-03-06T09:00:00.000+0000",
        ),
    )
    derive_changed(db, version_id, connection_id)
    # 003C has no role yet: through its account 001B the open opportunity is the expansion 006X.
    assert ("006X", "proposal_requested") in {(r[0], r[1]) for r in event_rows(db, version_id)}
    store(
        db,
        connection_id,
        "Opportunity",
        opportunity("006C", AccountId="001B", CreatedDate="2025-03-01T09:00:00.000+0000"),
    )
    store(
        db,
        connection_id,
        "OpportunityContactRole",
        sf("OpportunityContactRole", "00KC", OpportunityId="006C", ContactId="003C"),
    )
    derive_changed(db, version_id, connection_id)
    keys = {(r[0], r[1], r[3]) for r in event_rows(db, version_id)}
    assert ("006C", "proposal_requested", "02sC") in keys
    assert ("006X", "proposal_requested", "02sC") not in keys


def test_running_without_an_active_version_does_nothing(db: Database) -> None:
    seed_salesforce(db)
    assert derive_active(db) == []


def test_a_full_run_withdraws_events_of_records_it_no_longer_reads(
    db: Database, world: tuple[int, int]
) -> None:
    connection_id, version_id = world
    # An outgoing email cannot match any rule: the full run's scan skips it unread, and the
    # event it used to prove goes.
    store(db, connection_id, "EmailMessage", email("02sREPLY", Incoming=False, Status="3"))
    report = derive_all(db, version_id, connection_id)
    assert report.events_removed == 1
    assert event_rows(db, version_id) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's advisory locks; SQLite has one writer")
def test_one_run_per_version_and_connection_at_a_time(db: Database, world: tuple[int, int]) -> None:
    from app.services.mapping.runs import _exclusive

    connection_id, version_id = world
    with (
        db.engine.connect() as holder,
        _exclusive(holder, version_id, connection_id),
        pytest.raises(ConflictError),
    ):
        derive_all(db, version_id, connection_id)
    assert derive_all(db, version_id, connection_id).events_removed == 0
