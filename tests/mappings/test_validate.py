"""Validation: streams and fields the CRM has, times that are times, and the seller-side guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.errors import RulesetError
from mappings.validate import load_ruleset, unmatched_warnings, validate
from tests.mappings.builders import one_rule

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "examples"


def _codes(text: str, **kwargs: object) -> list[tuple[str, str, int, int]]:
    report = validate(text, "rules.yaml", **kwargs)  # type: ignore[arg-type]
    return [(d.severity, d.code, d.position.line, d.position.column) for d in report.diagnostics]


@pytest.mark.parametrize("name", ["salesforce.yaml", "hubspot.yaml"])
def test_the_shipped_examples_are_clean(name: str) -> None:
    report = validate((EXAMPLES / name).read_text(), name)
    assert report.ok, [str(d) for d in report.diagnostics]
    assert report.diagnostics == []
    ruleset = report.ruleset
    assert ruleset is not None
    assert [p.key for p in ruleset.processes] == [
        "enterprise_new_business",
        "smb_new_business",
        "expansion",
    ]
    assert all(
        m.guidance and m.kind in ("does", "says", "writes")
        for p in ruleset.processes
        for m in p.milestones
    )


def test_an_unknown_stream_suggests_the_right_one() -> None:
    report = validate(one_rule("EmailMessages", "Incoming: true"), "rules.yaml")
    (error,) = report.errors
    assert (error.code, error.position.line, error.position.column) == ("unknown-stream", 12, 21)
    assert error.expected == "did you mean EmailMessage?"
    other = validate(one_rule("emails", "Incoming: true"), "rules.yaml").errors[0]
    assert "emails is a hubspot stream" in other.message


def test_unknown_fields_are_errors_against_the_built_in_catalog_or_declared_fields() -> None:
    text = one_rule("EmailMessage", "Incoming: true\nSubjekt: {contains: x}")
    (error,) = validate(text, "rules.yaml").errors
    assert (error.code, error.position.line, error.position.column) == ("unknown-field", 15, 15)
    assert error.expected == "did you mean Subject?"
    assert "built-in catalog" in error.message
    declared = text.replace("processes:\n", "fields:\n  EmailMessage: [Subjekt]\nprocesses:\n")
    assert validate(declared, "rules.yaml").ok


def test_the_connections_data_is_the_authority_when_given() -> None:
    text = one_rule("EmailMessage", "Incoming: true\nSubject: x\nPriority__c: High")
    fields = {
        ("salesforce", "EmailMessage"): {
            "Incoming": "boolean",
            "Subject": "string",
            "MessageDate": "datetime",
        }
    }
    report = validate(text, "rules.yaml", fields, fields_from="connection acme's describe")
    (error,) = report.errors
    assert error.message == (
        "unknown field 'Priority__c' for stream EmailMessage "
        "according to connection acme's describe"
    )


def test_hubspot_names_are_properties_and_top_level_fields_are_known() -> None:
    text = one_rule(
        "emails",
        "hs_email_direction: INCOMING_EMAIL\n"
        "properties.hs_email_subject: {contains: x}\n"
        "archived: false",
        source="hubspot",
    )
    assert validate(text, "rules.yaml").ok


def test_salesforce_parent_fields_go_through_relationships() -> None:
    ok = one_rule(
        "Task", "CallType: Inbound\nAccount.Name: {contains: Acme}\nWho.Email: {exists: true}"
    )
    assert validate(ok, "rules.yaml").ok
    bad = one_rule("Task", "CallType: Inbound\nPartner.Name: x")
    assert validate(bad, "rules.yaml").errors[0].code == "unknown-field"


def test_occurred_at_must_be_a_date_or_time() -> None:
    text = one_rule("EmailMessage", "Incoming: true", extra="            occurred_at: Subject\n")
    (error,) = validate(text, "rules.yaml").errors
    assert (error.code, error.position.line) == ("not-a-time", 15)


def test_related_conditions_are_checked_against_the_related_stream() -> None:
    text = one_rule(
        "Task",
        "CallType: Inbound\nrelated: contact.account\nwhere: {Industry: Software, Colour: red}",
    )
    (error,) = validate(text, "rules.yaml").errors
    assert "unknown field 'Colour' for stream Account" in error.message


@pytest.mark.parametrize(
    ("stream", "when", "source", "reason"),
    [
        ("EmailMessage", "Incoming: false", "salesforce", "outgoing emails"),
        ("EmailMessage", "Status: '3'", "salesforce", "sent, forwarded or draft emails"),
        (
            "emails",
            "hs_email_direction: [EMAIL, FORWARDED_EMAIL]",
            "hubspot",
            "outgoing or forwarded",
        ),
        ("Task", "TaskSubtype: Task", "salesforce", "rep-created tasks"),
        ("Task", "CallDisposition: No Answer", "salesforce", "logged call attempts"),
        ("calls", "hs_call_status: NO_ANSWER", "hubspot", "logged call attempts"),
        ("tasks", "hs_task_status: COMPLETED", "hubspot", "rep-created tasks"),
        ("notes", "hs_note_body: {contains: call}", "hubspot", "internal notes"),
        ("OpportunityHistory", "StageName: Closed Won", "salesforce", "stage changes a rep makes"),
        ("deals", "dealstage: closedwon", "hubspot", "deal fields and stages that reps set"),
        ("meetings", "hs_meeting_outcome: SCHEDULED", "hubspot", "meetings booked but not held"),
        ("EmailMessage", "not: {Incoming: true}", "salesforce", "excludes mail the customer sent"),
    ],
)
def test_the_guard_rejects_milestones_only_sellers_can_reach(
    stream: str, when: str, source: str, reason: str
) -> None:
    report = validate(one_rule(stream, when, source=source), "rules.yaml")
    (error,) = report.errors
    assert (error.code, error.position.line, error.position.column) == ("seller-side", 7, 9)
    assert reason in error.message
    assert "something the customer does, says or writes" in error.message


def test_an_exception_with_a_reason_lets_a_seller_side_milestone_through() -> None:
    text = one_rule("OpportunityHistory", "StageName: Closed Won").replace(
        "        kind: writes\n",
        "        kind: does\n"
        "        exception: Contracts are signed on paper; the CFO marks the deal won.\n",
    )
    report = validate(text, "rules.yaml")
    assert report.ok and report.diagnostics == []
    ruleset = report.ruleset
    assert ruleset is not None and ruleset.processes[0].milestones[0].exception is not None


def test_a_seller_side_rule_beside_customer_rules_is_still_an_error() -> None:
    text = one_rule("EmailMessage", "Incoming: true") + (
        "          - {key: sent, stream: EmailMessage, when: {Incoming: false}}\n"
    )
    (error,) = validate(text, "rules.yaml").errors
    assert (error.code, error.position.line) == ("seller-side", 15)
    assert "rule 'sent'" in error.message


def test_a_rule_that_can_also_match_seller_side_records_is_an_error_with_the_fix() -> None:
    """An email rule with no direction matches the rep's own "Proposal" mail too."""
    report = validate(one_rule("EmailMessage", "HasAttachment: true"), "rules.yaml")
    assert not report.ok
    (error,) = report.errors
    assert error.code == "both-sides"
    assert "can also match seller-side records" in error.message
    assert error.expected == (
        "add `Incoming: true` (mail the customer sent), or `exception: <reason>` on the milestone"
    )


def test_an_exception_with_a_reason_lets_a_rule_on_both_sides_through() -> None:
    text = one_rule("EmailMessage", "HasAttachment: true").replace(
        "        kind: writes\n",
        "        kind: writes\n"
        "        exception: Only the buyer's procurement portal sends attachments to this inbox.\n",
    )
    report = validate(text, "rules.yaml")
    assert report.ok and report.diagnostics == []


@pytest.mark.parametrize(
    ("stream", "when", "source"),
    [
        ("EmailMessage", "Incoming: true", "salesforce"),
        ("Task", "CallType: Inbound", "salesforce"),
        (
            "Task",
            "{TaskSubtype: Call, CallType: Outbound, CallDisposition: Connected}",
            "salesforce",
        ),
        ("calls", "hs_call_direction: INBOUND", "hubspot"),
        ("meetings", "hs_meeting_outcome: COMPLETED", "hubspot"),
        ("emails", "any: [{hs_email_direction: INCOMING_EMAIL}]", "hubspot"),
        ("form_submissions", "formName: Pricing inquiry", "hubspot"),
        ("form_submissions", "formId: b5d03e87-1f2c-4a96-8e4b-7d6c1a9f3e32", "hubspot"),
    ],
)
def test_customer_actions_pass_the_guard_silently(stream: str, when: str, source: str) -> None:
    report = validate(one_rule(stream, when, source=source), "rules.yaml")
    assert report.ok and report.diagnostics == []


def test_a_form_submission_is_always_the_customers_act_and_its_fields_are_known() -> None:
    """A rule on form submissions needs no side condition (every one is the customer's), its
    time defaults to when the form was sent, and fields a submission lacks are errors."""
    report = validate(one_rule("form_submissions", "email: {exists: true}", source="hubspot"), "r")
    assert report.ok and report.diagnostics == []
    assert report.ruleset is not None
    bad = one_rule("form_submissions", "hs_email_direction: INCOMING_EMAIL", source="hubspot")
    (error,) = validate(bad, "rules.yaml").errors
    assert error.code == "unknown-field"


def test_load_ruleset_raises_with_every_diagnostic() -> None:
    text = one_rule("Emails", "Incoming: true\nFoo: 1")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(text, "rules.yaml")
    assert len(caught.value.errors) == 1
    assert str(caught.value).startswith("rules.yaml:12:21: error: unknown stream 'Emails'")


def test_milestones_no_stored_record_matched_are_warned_about() -> None:
    ruleset = load_ruleset(one_rule("EmailMessage", "Incoming: true"), "rules.yaml")
    (warning,) = unmatched_warnings(ruleset, {}, records_seen=120)
    assert warning.code == "never-matched" and warning.position.line == 7
    assert "120 stored records read" in warning.message
    assert unmatched_warnings(ruleset, {("p", "m"): 3}, 120) == []
    assert unmatched_warnings(ruleset, {}, 0) == []
