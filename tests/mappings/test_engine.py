"""From records to events: attribution to opportunities, processes, deletions, determinism."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from mappings.compiler import compile_ruleset
from mappings.engine import Engine
from mappings.resolver import EntityIndex
from mappings.validate import load_ruleset
from tests.mappings.builders import hs, sf, sf_email, sf_opportunity

RULES = """\
name: two processes
source: salesforce
processes:
{processes}
"""
PROCESS = """\
  - key: {key}
    name: {key}
    segment: {{Type: {type}}}
    milestones:
      - key: replied
        name: Replied
        kind: writes
        guidance: Offer a call.
        rules:
          - key: email
            stream: EmailMessage
            when: {{Incoming: true}}
            occurred_at: MessageDate
            attribution: {attribution}
"""


def _engine(index: EntityIndex, attribution: str = "[direct, contact, account]") -> Engine:
    text = RULES.format(
        processes=PROCESS.format(key="smb", type="New Business", attribution=attribution)
        + PROCESS.format(key="expansion", type="Existing Business", attribution=attribution)
    )
    return Engine(compile_ruleset(load_ruleset(text, "rules.yaml")), "salesforce", index)


@pytest.fixture
def index() -> EntityIndex:
    tasks: dict[str, dict[str, Any]] = {
        "00TA": sf("Task", "00TA", WhoId="003A", WhatId=None, AccountId="001A"),
        "00TB": sf("Task", "00TB", WhoId="003B", WhatId=None, AccountId="001B"),
        "00TC": sf("Task", "00TC", WhoId="003C", WhatId=None, AccountId="001A"),
    }
    built = EntityIndex(
        "salesforce", fetch=lambda stream, i: tasks.get(i) if stream == "Task" else None
    )
    for opportunity in (
        sf_opportunity("006A", CreatedDate="2025-01-01T09:00:00.000+0000"),
        sf_opportunity("006B", CreatedDate="2025-02-01T09:00:00.000+0000"),
        sf_opportunity(
            "006C", Type="Existing Business", CreatedDate="2025-01-15T09:00:00.000+0000"
        ),
        sf_opportunity(
            "006D",
            AccountId="001B",
            IsClosed=True,
            IsWon=True,
            LastStageChangeDate="2025-02-10T09:00:00.000+0000",
        ),
    ):
        built.add("Opportunity", opportunity["Id"], opportunity)
    for contact, account in (("003A", "001A"), ("003B", "001B"), ("003C", "001A")):
        built.add("Contact", contact, sf("Contact", contact, AccountId=account))
    built.add("Account", "001A", sf("Account", "001A", Industry="Software"))
    built.add(
        "OpportunityContactRole",
        "00KA",
        sf("OpportunityContactRole", "00KA", OpportunityId="006A", ContactId="003A"),
    )
    built.add(
        "OpportunityContactRole",
        "00KB",
        sf("OpportunityContactRole", "00KB", OpportunityId="006D", ContactId="003B"),
    )
    return built


def _owners(engine: Engine, **email: Any) -> list[tuple[str, str]]:
    record = sf_email("02sX", **email)
    return [
        (e.opportunity_id, e.process_key)
        for e in engine.derive("EmailMessage", "02sX", record).events
    ]


def test_a_record_linked_to_an_opportunity_belongs_to_it_alone(index: EntityIndex) -> None:
    engine = _engine(index)
    assert _owners(engine, RelatedToId="006A") == [("006A", "smb")]
    assert _owners(engine, RelatedToId="006C") == [("006C", "expansion")]


def test_an_email_reaches_its_contact_through_its_task(index: EntityIndex) -> None:
    engine = _engine(index)
    assert _owners(engine, RelatedToId=None, ActivityId="00TA") == [("006A", "smb")]


def test_the_account_decides_when_the_contact_has_no_open_opportunity(index: EntityIndex) -> None:
    engine = _engine(index)
    # 003C has no contact role: its account 001A has 006A and 006B (smb) and 006C (expansion)
    # open; the nearest smb one is 006B, created last before the email.
    assert _owners(engine, RelatedToId=None, ActivityId="00TC") == [
        ("006B", "smb"),
        ("006C", "expansion"),
    ]
    assert _owners(engine, RelatedToId="001A") == [("006B", "smb"), ("006C", "expansion")]
    # Before 006B existed the nearest open one was 006A.
    assert ("006A", "smb") in _owners(
        engine, RelatedToId="001A", MessageDate="2025-01-20T10:00:00.000+0000"
    )


def test_pick_all_keeps_every_open_opportunity(index: EntityIndex) -> None:
    engine = _engine(index, "{via: [account], pick: all}")
    assert _owners(engine, RelatedToId="001A") == [
        ("006A", "smb"),
        ("006B", "smb"),
        ("006C", "expansion"),
    ]


def test_only_opportunities_open_when_the_customer_acted(index: EntityIndex) -> None:
    engine = _engine(index)
    # 006D was won on 2025-02-10 09:00; a day's grace covers CRMs that keep only the date.
    assert _owners(
        engine, RelatedToId=None, ActivityId="00TB", MessageDate="2025-02-10T15:00:00.000+0000"
    ) == [("006D", "smb")]
    assert (
        _owners(
            engine, RelatedToId=None, ActivityId="00TB", MessageDate="2025-03-01T15:00:00.000+0000"
        )
        == []
    )
    # Direct links ignore the window: the rep said where it belongs.
    assert _owners(engine, RelatedToId="006D", MessageDate="2025-03-01T15:00:00.000+0000") == [
        ("006D", "smb")
    ]


def test_steps_are_tried_in_the_rules_order(index: EntityIndex) -> None:
    only_account = _engine(index, "[account]")
    assert _owners(only_account, RelatedToId="006A", ActivityId="00TA") == [
        ("006B", "smb"),
        ("006C", "expansion"),
    ]
    no_account = _engine(index, "[direct, contact]")
    assert _owners(no_account, RelatedToId="001A") == []


def test_deleted_records_and_opportunities_give_no_events(index: EntityIndex) -> None:
    engine = _engine(index)
    record = sf_email("02sX", RelatedToId="006A")
    assert engine.derive("EmailMessage", "02sX", record, deleted=True).events == ()
    assert engine.derive("EmailMessage", "02sX", {**record, "IsDeleted": True}).events == ()
    index.add("Opportunity", "006A", sf_opportunity("006A", IsDeleted=True))
    engine.forget(["006A"])
    assert _owners(engine, RelatedToId="006A") == []
    assert _owners(engine, RelatedToId=None, ActivityId="00TA") == [
        ("006B", "smb"),
        ("006C", "expansion"),
    ]


def _delete(index: EntityIndex, engine: Engine, opportunity_id: str, when: str) -> None:
    """The CRM deletes the opportunity at `when` (its stored record's last change)."""
    record = sf_opportunity(opportunity_id, IsDeleted=True)
    index.add("Opportunity", opportunity_id, record, deleted=True, modified_at=_at(when))
    engine.forget([opportunity_id])


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _eras(engine: Engine, **email: Any) -> list[tuple[str, datetime | None]]:
    record = sf_email("02sX", **email)
    events = engine.derive("EmailMessage", "02sX", record).events
    return [(e.opportunity_id, e.attributed_from) for e in events if e.process_key == "smb"]


def test_a_deletion_moves_the_record_from_then_on(index: EntityIndex) -> None:
    # 001A's email of 4 March went to 006B, the nearest smb deal then. 006B is deleted on
    # 10 March (a duplicate): from then on an export gives the email to 006A, and the
    # deleted 006B keeps it for the instants it lived.
    engine = _engine(index)
    _delete(index, engine, "006B", "2025-03-10T00:00:00+00:00")
    assert _eras(engine, RelatedToId="001A") == [
        ("006A", _at("2025-03-10T00:00:00+00:00")),
        ("006B", None),
    ]


def test_each_deletion_opens_an_era(index: EntityIndex) -> None:
    # A third smb deal, 006E, the newest: deleted on 8 March; 006B on 10 March. The email went
    # to 006E, then 006B, then 006A.
    index.add(
        "Opportunity", "006E", sf_opportunity("006E", CreatedDate="2025-03-01T09:00:00.000+0000")
    )
    engine = _engine(index)
    _delete(index, engine, "006E", "2025-03-08T00:00:00+00:00")
    _delete(index, engine, "006B", "2025-03-10T00:00:00+00:00")
    assert _eras(engine, RelatedToId="001A") == [
        ("006A", _at("2025-03-10T00:00:00+00:00")),
        ("006B", _at("2025-03-08T00:00:00+00:00")),
        ("006E", None),
    ]


def test_a_deletion_before_the_action_changes_nothing(index: EntityIndex) -> None:
    engine = _engine(index)
    _delete(index, engine, "006B", "2025-03-01T00:00:00+00:00")
    assert _eras(engine, RelatedToId="001A") == [("006A", None)]


def test_an_owner_kept_through_a_deletion_keeps_its_era(index: EntityIndex) -> None:
    # pick all: 006A and 006B both had the email; deleting 006B leaves 006A's from the action.
    engine = _engine(index, "{via: [account], pick: all}")
    _delete(index, engine, "006B", "2025-03-10T00:00:00+00:00")
    assert _eras(engine, RelatedToId="001A") == [("006A", None), ("006B", None)]


def test_a_changed_segment_moves_the_opportunity_to_another_process(index: EntityIndex) -> None:
    engine = _engine(index)
    assert engine.process_of("006A") == "smb"
    index.add("Opportunity", "006A", sf_opportunity("006A", Type="Existing Business"))
    assert engine.process_of("006A") == "smb"  # cached until told
    engine.forget(["006A"])
    assert engine.process_of("006A") == "expansion"
    assert _owners(engine, RelatedToId="006A") == [("006A", "expansion")]


def test_derivation_is_deterministic_and_keeps_its_evidence(index: EntityIndex) -> None:
    engine = _engine(index, "{via: [account], pick: all}")
    record = sf_email("02sX", RelatedToId="001A")
    first = engine.derive("EmailMessage", "02sX", record)
    again = _engine(index, "{via: [account], pick: all}").derive(
        "EmailMessage", "02sX", dict(record)
    )
    assert first == again
    assert {
        (e.stream, e.external_id, e.rule_key, e.milestone_key, e.kind) for e in first.events
    } == {("EmailMessage", "02sX", "email", "replied", "writes")}
    assert first.links.accounts == ("001A",)
    assert sorted(first.links.all_ids()) == [("account", "001A")]


def test_hubspot_engagements_attribute_through_associations() -> None:
    index = EntityIndex("hubspot")
    index.add(
        "deals",
        "11",
        hs(
            "11",
            {"dealtype": "newbusiness", "createdate": "2025-01-01T00:00:00Z"},
            {"contacts": ["21"], "companies": ["31"]},
        ),
    )
    index.add(
        "deals",
        "12",
        hs(
            "12",
            {"dealtype": "newbusiness", "createdate": "2025-02-01T00:00:00Z"},
            {"companies": ["31"]},
        ),
    )
    index.add("contacts", "21", hs("21", {"associatedcompanyid": "31"}))
    index.add("contacts", "22", hs("22", {"associatedcompanyid": "31"}))
    text = """\
name: hs
source: hubspot
processes:
  - key: nb
    name: New business
    segment: {dealtype: newbusiness}
    milestones:
      - key: replied
        name: Replied
        kind: writes
        guidance: Offer a call.
        rules:
          - stream: emails
            when: {hs_email_direction: INCOMING_EMAIL}
            occurred_at: hs_timestamp
"""
    engine = Engine(compile_ruleset(load_ruleset(text, "hs.yaml")), "hubspot", index)

    def owners(associations: dict[str, list[str]]) -> list[str]:
        email = hs(
            "41",
            {"hs_email_direction": "INCOMING_EMAIL", "hs_timestamp": "2025-03-04T10:00:00.000Z"},
            associations,
        )
        return [e.opportunity_id for e in engine.derive("emails", "41", email).events]

    assert owners({"deals": ["11"], "contacts": ["21"]}) == ["11"]
    assert owners({"contacts": ["21"], "companies": ["31"]}) == ["11"]
    assert owners({"contacts": ["22"]}) == ["12"]  # via the contact's company, nearest deal
    assert owners({}) == []
