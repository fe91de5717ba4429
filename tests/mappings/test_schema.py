"""The rule language: what a rule file may say, and errors that name file, line and column."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mappings.model import AllOf, AnyOf, Compare, NotOf, Related
from mappings.schema import parse_ruleset
from tests.mappings.builders import one_rule


def _errors(text: str) -> list[tuple[str, int, int]]:
    ruleset, problems = parse_ruleset(text, "rules.yaml")
    assert ruleset is None
    return [(p.code, p.position.line, p.position.column) for p in problems if p.severity == "error"]


def test_a_complete_ruleset_parses_into_typed_values() -> None:
    text = one_rule(
        "EmailMessage",
        """
Incoming: true
Subject: {not_contains: "Automatic reply", starts_with: [RE, AW]}
any:
  - TextBody: {regex: "(?i)proposal"}
  - HasAttachment: true
not:
  FromAddress: [a@x.example, b@x.example]
related: contact.account
where:
  NumberOfEmployees: {gte: 250}
""",
        extra="            occurred_at: [MessageDate, CreatedDate]\n"
        "            attribution: {via: [contact, account], pick: all}\n",
    )
    ruleset, problems = parse_ruleset(text, "rules.yaml")
    assert problems == [] and ruleset is not None
    rule = ruleset.processes[0].milestones[0].rules[0]
    assert rule.key == "emailmessage" and rule.stream == "EmailMessage"
    assert [ref.text for ref in rule.occurred_at] == ["MessageDate", "CreatedDate"]
    assert rule.attribution.via == ("contact", "account") and rule.attribution.pick == "all"
    assert isinstance(rule.when, AllOf)
    kinds = [type(item) for item in rule.when.items]
    assert kinds == [Compare, Compare, Compare, AnyOf, NotOf, Related]
    subject = rule.when.items[1]
    assert isinstance(subject, Compare) and subject.op == "not_contains"
    assert subject.value == ("Automatic reply",)
    related = rule.when.items[5]
    assert isinstance(related, Related) and related.hops == ("contact", "account")
    assert rule.document["when"]["Incoming"] is True
    assert len(ruleset.checksum) == 64


def test_dates_and_times_are_compared_as_instants() -> None:
    text = one_rule("Task", "ActivityDate: {gte: 2025-01-31, lt: '2025-02-28T12:00:00Z'}")
    ruleset, _ = parse_ruleset(text, "rules.yaml")
    assert ruleset is not None
    when = ruleset.processes[0].milestones[0].rules[0].when
    assert isinstance(when, AllOf)
    values = [item.value for item in when.items if isinstance(item, Compare)]
    assert values == [
        datetime(2025, 1, 31, tzinfo=UTC),
        datetime(2025, 2, 28, 12, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("when", "code", "line", "column"),
    [
        ("Incoming: {equal: true}", "bad-operator", 14, 26),
        ("TextBody: {regex: '(unclosed'}", "bad-regex", 14, 33),
        ("Amount: {gt: lots}", "bad-value", 14, 28),
        ("'Bad Field': 1", "bad-field", 14, 15),
        ("where: {Name: x}", "missing", 14, 15),
        ("related: partner\nwhere: {Name: x}", "bad-related", 14, 24),
        ("any: []", "type", 14, 20),
        ("Incoming: {exists: maybe}", "bad-value", 14, 34),
        ("Subject: {contains: 3}", "bad-value", 14, 35),
    ],
)
def test_bad_conditions_are_reported_where_they_are(
    when: str, code: str, line: int, column: int
) -> None:
    assert (code, line, column) in _errors(one_rule("EmailMessage", when))


def test_milestone_and_process_requirements() -> None:
    text = """\
name: x
source: salesforce
processes:
  - key: p
    name: P
    milestones:
      - key: Bad Key
        name: M
        kind: thinks
        rules: []
  - key: q
    name: Q
    milestones: []
"""
    errors = _errors(text)
    assert ("bad-key", 7, 14) in errors
    assert ("bad-kind", 9, 15) in errors
    assert ("missing", 7, 9) in errors  # guidance
    assert ("empty", 10, 16) in errors  # no rules
    assert ("empty", 13, 17) in errors  # empty process


def test_unknown_keys_name_what_was_expected() -> None:
    text = one_rule("EmailMessage", "Incoming: true", extra="            occured_at: MessageDate\n")
    ruleset, problems = parse_ruleset(text, "rules.yaml")
    assert ruleset is None
    (problem,) = problems
    assert (problem.code, problem.position.line, problem.position.column) == ("unknown-key", 15, 13)
    assert problem.expected is not None and "occurred_at" in problem.expected
    assert str(problem).startswith("rules.yaml:15:13: error: unknown key 'occured_at' in a rule")


def test_duplicate_keys_at_every_level() -> None:
    milestone = """\
      - key: m
        name: M
        kind: says
        guidance: g
        rules:
          - {key: r, stream: Task, when: {Status: Completed}}
"""
    text = f"""\
name: x
source: salesforce
processes:
  - key: p
    name: P
    milestones:
{milestone}{milestone}  - key: p
    name: P again
    milestones:
{milestone}"""
    codes = [c for c in _errors(text) if c[0] == "duplicate-key"]
    assert codes == [("duplicate-key", 13, 9), ("duplicate-key", 19, 5)]  # milestone, process
    rules = (
        one_rule("Task", "Status: Completed")
        + "          - {key: task, stream: Task, when: {Status: Open}}\n"
    )
    (problem,) = parse_ruleset(rules, "rules.yaml")[1]
    assert (problem.code, problem.position.line) == ("duplicate-key", 15)
    assert "give each rule its own `key`" in problem.message


def test_a_process_needs_a_source_and_rules_must_read_its_crm() -> None:
    text = one_rule("EmailMessage", "Incoming: true").replace("source: salesforce\n", "")
    assert ("missing", 3, 5) in _errors(text)
    mismatch = one_rule(
        "emails", "hs_email_direction: INCOMING_EMAIL", extra="            source: hubspot\n"
    )
    assert ("bad-source", 15, 21) in _errors(mismatch)


def test_the_grammar_refuses_anything_that_could_run() -> None:
    text = one_rule("EmailMessage", "Incoming: !!python/name:os.system ''")
    assert any(code == "yaml" for code, _, _ in _errors(text))


_HALF_LIFE = """\
name: x
source: salesforce
processes:
  - key: p
    name: P
    half_life_days: {value}
    milestones:
      - key: m
        name: M
        kind: writes
        guidance: Next step.
        rules:
          - stream: EmailMessage
            when: {{Incoming: true}}
            occurred_at: MessageDate
"""


@pytest.mark.parametrize(
    ("value", "want"), [("180", 180.0), ("90.5", 90.5), ("auto", "auto"), ("none", "none")]
)
def test_ops_set_a_process_forecast_half_life(value: str, want: object) -> None:
    ruleset, problems = parse_ruleset(_HALF_LIFE.format(value=value), "rules.yaml")
    assert problems == [] and ruleset is not None
    assert ruleset.processes[0].half_life_days == want


def test_a_process_without_a_half_life_takes_the_default() -> None:
    text = _HALF_LIFE.replace("    half_life_days: {value}\n", "")
    ruleset, _ = parse_ruleset(text.format(), "rules.yaml")
    assert ruleset is not None and ruleset.processes[0].half_life_days is None


@pytest.mark.parametrize("value", ["0", "-30", "soon", "true", "[90]"])
def test_a_bad_half_life_is_refused_where_it_is(value: str) -> None:
    ruleset, problems = parse_ruleset(_HALF_LIFE.format(value=value), "rules.yaml")
    assert ruleset is None
    (problem,) = problems
    assert (problem.code, problem.position.line, problem.position.column) == (
        "bad-half-life",
        6,
        21,
    )
    assert problem.expected is not None and "`none` or `auto`" in problem.expected
