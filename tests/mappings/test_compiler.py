"""Conditions as the compiler evaluates them, on Salesforce's typed JSON and HubSpot's strings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from mappings.catalog import Source
from mappings.compiler import compile_ruleset
from mappings.model import Ruleset
from mappings.schema import parse_ruleset
from tests.mappings.builders import hs, one_rule, sf, sf_email

Record = Mapping[str, Any]


class NoRelations:
    def related(
        self, source: Source, stream: str, record: Record, hop: str
    ) -> list[tuple[str, Record]]:
        return []


def load_ruleset(text: str, file: str) -> Ruleset:
    """The grammar only: these tests are about evaluation, not about the catalog."""
    ruleset, problems = parse_ruleset(text, file)
    assert ruleset is not None, problems
    return ruleset


def matches(
    stream: str, when: str, record: Record, source: Source = "salesforce", extra: str = ""
) -> bool:
    compiled = compile_ruleset(
        load_ruleset(one_rule(stream, when, source=source, extra=extra), "t.yaml")
    )
    return bool(compiled.match(source, stream, record, NoRelations()))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("Incoming: true", True),
        ("Incoming: false", False),
        ("Subject: 'RE: hello'", True),
        ("Subject: 're: hello'", False),
        ("Subject: {contains: HELLO}", True),
        ("Subject: {not_contains: [bye, hello]}", False),
        ("Subject: {starts_with: [Fwd, 're:']}", True),
        ("Subject: {ends_with: lo}", True),
        ("Subject: {regex: '^RE: h.llo$'}", True),
        ("Subject: {regex: '^hello'}", False),
        ("Subject: [a, 'RE: hello']", True),
        ("Subject: {not_in: [a, 'RE: hello']}", False),
        ("Subject: {not_equals: x}", True),
        ("Status: 1", True),
        ("Status: '1'", True),
        ("Status: [0, 1, 2]", True),
        ("ActivityId: {exists: false}", True),
        ("ActivityId: null", True),
        ("FromAddress: {exists: true}", True),
        ("Missing__c: {not_equals: x}", True),
        ("Missing__c: {contains: x}", False),
        ("MessageDate: {gte: 2025-03-04, lt: 2025-03-05}", True),
        ("MessageDate: 2025-03-04", True),
        ("MessageDate: {gt: '2025-03-04T10:15:00Z'}", False),
        ("attributes.type: EmailMessage", True),
    ],
)
def test_salesforce_conditions(when: str, expected: bool) -> None:
    assert matches("EmailMessage", when, sf_email("02sA")) is expected


def test_numbers_compare_as_numbers_whatever_their_text() -> None:
    task = sf(
        "Task", "00TA", CallType="Inbound", CallDurationInSeconds=600, ActivityDate="2025-03-04"
    )
    assert matches("Task", "CallType: Inbound\nCallDurationInSeconds: {gte: 300, lt: 900.5}", task)
    assert matches("Task", "CallType: Inbound\nCallDurationInSeconds: 600.0", task)
    assert not matches("Task", "CallType: Inbound\nCallDurationInSeconds: {gt: 600}", task)


def test_hubspot_bare_names_are_properties_and_text_is_compared_loosely() -> None:
    email = hs(
        "401",
        {
            "hs_email_direction": "INCOMING_EMAIL",
            "hs_timestamp": "1741083300000",
            "hs_attachment_ids": "",
            "hs_email_subject": "Signed order form",
            "hs_email_thread_count": "3",
            "hs_is_reply": "true",
        },
    )

    def check(when: str) -> bool:
        return matches(
            "emails",
            f"hs_email_direction: INCOMING_EMAIL\n{when}",
            email,
            "hubspot",
            "            occurred_at: hs_timestamp\n",
        )

    assert check("hs_email_subject: {contains: order form}")
    assert check("properties.hs_email_subject: {starts_with: signed}")
    assert check("hs_attachment_ids: {exists: false}")
    assert check("hs_email_thread_count: {gt: 2}")
    assert check("hs_is_reply: true")
    assert check("archived: false")
    assert check("id: '401'")
    assert check("hs_timestamp: {gte: 2025-03-04}")
    assert not check("hs_email_subject: {contains: proposal}")


def test_all_any_not_nest() -> None:
    email = sf_email("02sA", HasAttachment=True)
    when = """
Incoming: true
any:
  - all: [{HasAttachment: true}, {Subject: {contains: order}}]
  - not: {Subject: {contains: hello}}
"""
    assert not matches("EmailMessage", when, email)
    assert matches(
        "EmailMessage", when, sf_email("02sA", Subject="RE: order form", HasAttachment=True)
    )


def test_the_time_is_the_first_field_that_holds_one() -> None:
    ruleset = load_ruleset(
        one_rule(
            "Task",
            "CallType: Inbound",
            extra="            occurred_at: [CompletedDateTime, ActivityDate]\n",
        ),
        "t.yaml",
    )
    compiled = compile_ruleset(ruleset)
    task = sf("Task", "00TA", CallType="Inbound", CompletedDateTime=None, ActivityDate="2025-03-04")
    (hit,) = compiled.match("salesforce", "Task", task, NoRelations())
    assert hit.occurred_at == datetime(2025, 3, 4, tzinfo=UTC)
    no_time = sf("Task", "00TB", CallType="Inbound", CompletedDateTime=None, ActivityDate=None)
    assert compiled.match("salesforce", "Task", no_time, NoRelations()) == []


def test_default_times_come_from_the_stream() -> None:
    compiled = compile_ruleset(load_ruleset(one_rule("EmailMessage", "Incoming: true"), "t.yaml"))
    (hit,) = compiled.match("salesforce", "EmailMessage", sf_email("02sA"), NoRelations())
    assert hit.occurred_at == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


TWO_PROCESSES = """\
name: two
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
        guidance: g
        rules:
          - {{key: email, stream: EmailMessage, when: {{Incoming: true}}, occurred_at: MessageDate}}
          - {{key: call, stream: Task, when: {{CallType: Inbound}}, occurred_at: ActivityDate}}
      - key: signed
        name: Signed
        kind: does
        guidance: g
        rules:
          - {{key: signed, stream: EmailMessage, when: {{Incoming: true, HasAttachment: true}}}}
"""


def test_identical_rules_in_several_processes_are_evaluated_once() -> None:
    text = TWO_PROCESSES.format(
        processes=PROCESS.format(key="smb", type="New Business")
        + PROCESS.format(key="expansion", type="Existing Business")
    )
    compiled = compile_ruleset(load_ruleset(text, "t.yaml"))
    hits = compiled.match(
        "salesforce", "EmailMessage", sf_email("02sA", HasAttachment=True), NoRelations()
    )
    targets = sorted((t.process_key, t.milestone_key, t.rule_key) for h in hits for t in h.targets)
    assert len(hits) == 2
    assert targets == [
        ("expansion", "replied", "email"),
        ("expansion", "signed", "signed"),
        ("smb", "replied", "email"),
        ("smb", "signed", "signed"),
    ]
    assert (
        compiled.match(
            "salesforce", "EmailMessage", sf_email("02sB", incoming=False), NoRelations()
        )
        == []
    )
    assert compiled.match("salesforce", "Event", sf("Event", "00UA"), NoRelations()) == []


def test_the_first_process_whose_segment_selects_an_opportunity_wins() -> None:
    text = TWO_PROCESSES.format(
        processes=PROCESS.format(key="smb", type="New Business")
        + PROCESS.format(key="expansion", type="Existing Business").replace(
            "    segment: {Type: Existing Business}\n", ""
        )
    )
    compiled = compile_ruleset(load_ruleset(text, "t.yaml"))
    env = NoRelations()
    assert compiled.process_of("salesforce", {"Type": "New Business"}, env) == "smb"
    assert compiled.process_of("salesforce", {"Type": "Renewal"}, env) == "expansion"
    assert compiled.process_of("hubspot", {"Type": "Renewal"}, env) is None


def test_conditions_on_associated_records() -> None:
    class Accounts:
        def related(
            self, source: Source, stream: str, record: Record, hop: str
        ) -> list[tuple[str, Record]]:
            if hop == "contact" and record.get("WhoId"):
                return [("Contact", {"Id": record["WhoId"], "AccountId": "001A", "Title": "CFO"})]
            if hop == "account" and stream == "Contact":
                return [
                    ("Account", {"Id": "001A", "Industry": "Software", "NumberOfEmployees": 900})
                ]
            return []

    when = """
CallType: Inbound
related: contact.account
where: {Industry: Software, NumberOfEmployees: {gte: 250}}
"""
    ruleset = load_ruleset(one_rule("Task", when), "t.yaml")
    compiled = compile_ruleset(ruleset)
    task = sf("Task", "00TA", CallType="Inbound", WhoId="003A", ActivityDate="2025-03-04")
    assert compiled.match("salesforce", "Task", task, Accounts())
    orphan = sf("Task", "00TB", CallType="Inbound", WhoId=None, ActivityDate="2025-03-04")
    assert compiled.match("salesforce", "Task", orphan, Accounts()) == []
