"""Activation swaps versions atomically, keeps earlier ones, and never takes a broken file;
preview and validation look at the stored records without changing anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.core.database import Database
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.models import MilestoneEvent, OpportunityState, RulesetVersion
from app.services.mapping.activation import (
    ActivationResult,
    activate_ruleset,
    list_versions,
    rollback,
)
from app.services.mapping.preview import PreviewOptions, preview_file, validate_file
from app.services.mapping.rulesets import RulesetRejected
from app.services.mapping.runs import derive_active
from app.services.state.active import active_versions
from tests.app.services.mapping.mapping_world import (
    HUBSPOT_RULES,
    SALESFORCE_RULES,
    count_events,
    email,
    event_rows,
    seed_hubspot,
    seed_salesforce,
    store,
)

# The same processes, but a reply must mention a meeting: the first reply no longer counts.
STRICTER = SALESFORCE_RULES.replace(
    'TextBody: {not_contains: ["decided not to move forward", "not interested"]}',
    "TextBody: {contains: meeting}",
    1,
).replace("name: Brightwave sales processes (Salesforce)", "name: Stricter replies")


def _active(db: Database) -> list[int]:
    """The version numbers active on some connection."""
    return sorted({v.version for v in list_versions(db) if v.active_on})


def _previous(result: ActivationResult) -> int | None:
    (activated,) = result.connections
    return activated.previous_version


def test_a_new_version_replaces_the_active_one_and_the_old_one_stays(db: Database) -> None:
    seed_salesforce(db)
    first = activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    assert (first.version, _previous(first), _active(db)) == (1, None, [1])
    second = activate_ruleset(db, STRICTER, "stricter.yaml", note="replies must mention a meeting")
    assert (second.version, _previous(second), _active(db)) == (2, 1, [2])
    assert len(event_rows(db, first.version_id)) == 1  # kept for comparison and rollback
    assert event_rows(db, second.version_id) == []
    back = rollback(db, "acme")
    assert (back.version, _previous(back), _active(db)) == (1, 2, [1])
    versions = list_versions(db)
    assert [(v.version, v.active, v.note) for v in versions] == [
        (1, True, None),
        (2, False, "replies must mention a meeting"),
    ]


def test_the_same_text_is_the_same_version(db: Database) -> None:
    seed_salesforce(db)
    first = activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    again = activate_ruleset(db, SALESFORCE_RULES, "copy.yaml")
    assert again.version == first.version and _previous(again) == first.version
    assert count_events(db) == 1


def test_a_broken_file_is_never_stored_and_the_active_version_keeps_running(db: Database) -> None:
    connection_id = seed_salesforce(db)
    activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    broken = SALESFORCE_RULES.replace("stream: Event", "stream: Meetings", 1)
    with pytest.raises(RulesetRejected) as rejected:
        activate_ruleset(db, broken, "broken.yaml")
    (error,) = [d for d in rejected.value.diagnostics if d.severity == "error"]
    assert (error.code, error.position.file, error.position.line) == (
        "unknown-stream",
        "broken.yaml",
        57,
    )
    assert str(rejected.value).startswith("broken.yaml:57:21: error: unknown stream 'Meetings'")
    assert _active(db) == [1]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RulesetVersion)) == 1
    store(
        db,
        connection_id,
        "EmailMessage",
        email("02sNEW", TextBody="Send a quote please", MessageDate="2025-03-09T09:00:00.000+0000"),
    )
    from app.services.mapping.runs import derive_active

    (report,) = derive_active(db)
    assert report.events_added == 2


def test_fields_are_checked_against_the_connections_stored_data(db: Database) -> None:
    seed_salesforce(db)
    custom = SALESFORCE_RULES.replace(
        "  Event: [Meeting_Outcome__c]\n",
        "  Event: [Meeting_Outcome__c]\n  EmailMessage: [Sentiment__c]\n",
    ).replace(
        "              HasAttachment: true\n",
        "              HasAttachment: true\n              Sentiment__c: positive\n",
        1,
    )
    assert validate_file(None, custom, "custom.yaml").ok  # declared: fine on the catalog alone
    report = validate_file(db, custom, "custom.yaml")
    (error,) = report.errors
    assert error.message == (
        "unknown field 'Sentiment__c' for stream EmailMessage according to the stored data of acme"
    )


def test_validation_warns_about_milestones_no_stored_record_ever_matched(db: Database) -> None:
    seed_salesforce(db)
    report = validate_file(db, SALESFORCE_RULES, "salesforce.yaml")
    assert report.ok
    never = {d.message.split("'")[1] for d in report.warnings if d.code == "never-matched"}
    assert "reply" not in never
    assert {"meeting_held", "signed", "verbal_yes"} <= never
    offline = validate_file(db, SALESFORCE_RULES, "salesforce.yaml", with_data=False)
    assert offline.warnings == []


def test_preview_counts_examples_and_differences_without_writing(db: Database) -> None:
    connection_id = seed_salesforce(db)
    activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    store(
        db,
        connection_id,
        "EmailMessage",
        email(
            "02sMEET",
            TextBody="A meeting next week works.",
            MessageDate="2025-03-07T09:00:00.000+0000",
        ),
    )
    before = count_events(db)
    report = preview_file(db, STRICTER, "stricter.yaml", PreviewOptions(limit=2))
    result = report.model_dump(mode="json")  # as the API and `mappings preview --json` print it
    assert count_events(db) == before
    assert result["active_versions"] == {"acme": 1} and result["records_scanned"] > 0
    smb = next(p for p in result["processes"] if p["key"] == "smb_new_business")
    reply = next(m for m in smb["milestones"] if m["key"] == "reply")
    assert (reply["records_matched"], reply["events"], reply["opportunities"]) == (1, 1, 1)
    (example,) = reply["examples"]
    assert example["evidence"] == {
        "connection": "acme",
        "stream": "EmailMessage",
        "external_id": "02sMEET",
        "url": "https://acme.my.salesforce.com/lightning/r/EmailMessage/02sMEET/view",
    }
    assert example["opportunity"] == {"external_id": "006A", "name": "Deal 006A"}
    # The active version has not mapped 02sMEET yet (no run since it was stored): added; the
    # old first reply no longer counts: removed.
    assert reply["difference"] == {"added": 1, "removed": 1, "moved": 0}
    assert result["difference"]["removed"] == 1
    assert result["difference"]["examples"]["removed"][0]["evidence"]["external_id"] == "02sREPLY"


def test_preview_rejects_a_broken_file(db: Database) -> None:
    seed_salesforce(db)
    with pytest.raises(RulesetRejected):
        preview_file(db, "name: x\nprocesses: []\n", "x.yaml")


def test_a_hubspot_portal_maps_with_the_hubspot_example(db: Database) -> None:
    seed_hubspot(db)
    result = activate_ruleset(db, HUBSPOT_RULES, "hubspot.yaml")
    assert event_rows(db, result.version_id) == [
        ("12", "meeting_held", "meetings", "41", datetime(2025, 3, 4, 10, tzinfo=UTC))
    ]
    with db.session() as session:
        url = session.scalar(select(MilestoneEvent.evidence_url))
    assert url == "https://app.hubspot.com/contacts/4242/record/0-47/41"


def _state_versions(db: Database) -> set[tuple[int | None, int]]:
    with db.session() as session:
        rows = session.execute(
            select(OpportunityState.connection_id, OpportunityState.ruleset_version_id)
        )
        return {(c, v) for c, v in rows}


def test_each_connection_runs_its_own_version_side_by_side(db: Database) -> None:
    acme, portal = seed_salesforce(db), seed_hubspot(db)
    salesforce = activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    hubspot = activate_ruleset(db, HUBSPOT_RULES, "hubspot.yaml")
    # by default a file is activated on every connection of the CRM its processes read
    assert [c.connection for c in salesforce.connections] == ["acme"]
    assert [c.connection for c in hubspot.connections] == ["portal"]
    with db.session() as session:
        assert active_versions(session) == {
            acme: salesforce.version_id,
            portal: hubspot.version_id,
        }
    assert [(v.version, v.active_on) for v in list_versions(db)] == [(1, ["acme"]), (2, ["portal"])]
    assert _state_versions(db) == {(acme, salesforce.version_id), (portal, hubspot.version_id)}
    assert len(event_rows(db, salesforce.version_id)) == 1
    assert len(event_rows(db, hubspot.version_id)) == 1

    # a new version for acme leaves the portal's alone; rollback goes back on acme only
    stricter = activate_ruleset(db, STRICTER, "stricter.yaml", connections=["acme"])
    assert _state_versions(db) == {(acme, stricter.version_id), (portal, hubspot.version_id)}
    back = rollback(db, "acme")
    assert (back.version, _previous(back)) == (1, 3)
    assert _state_versions(db) == {(acme, salesforce.version_id), (portal, hubspot.version_id)}
    assert [v.version for v in list_versions(db, "acme")] == [1, 3]
    assert [(v.version, v.active) for v in list_versions(db, "portal")] == [(2, True)]
    with pytest.raises(ConflictError, match="no earlier ruleset version was active on 'portal'"):
        rollback(db, "portal")

    # mapping runs: each connection with its own version
    runs = {(r.connection_id, r.ruleset_version_id) for r in derive_active(db)}
    assert runs == {(acme, salesforce.version_id), (portal, hubspot.version_id)}


def test_activation_is_refused_where_the_file_cannot_serve_the_connection(db: Database) -> None:
    with pytest.raises(InvalidRequestError, match="no connection reads salesforce records"):
        activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml")
    seed_salesforce(db)
    seed_hubspot(db)
    with pytest.raises(InvalidRequestError, match="connection 'portal' reads hubspot records"):
        activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml", connections=["portal"])
    with pytest.raises(NotFoundError, match="no connection named 'nope'"):
        activate_ruleset(db, SALESFORCE_RULES, "salesforce.yaml", connections=["nope"])
    with pytest.raises(ConflictError, match="no ruleset version is active on 'acme'"):
        rollback(db, "acme")
    # nothing was stored, nothing derived, no connection has a version
    assert list_versions(db) == [] and count_events(db) == 0
    with db.session() as session:
        assert active_versions(session) == {}
