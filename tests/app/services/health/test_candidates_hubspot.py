"""Candidate milestones in a HubSpot portal, with two predictive customer actions the shipped
HubSpot rules do not map: a completed security questionnaire e-mailed back after the meeting
(`--security-review`) and a pricing inquiry sent through a website form (`--forms`), each far
more often in the deals the customer goes on to sign. Forms that do not predict winning (a demo
request before the deal, "Contact us", the newsletter) are not proposed.

Both are proposed among the top three, each with a milestone that validates against the shipped
rules, the customer's side as the guard wants it, and evidence records of its own stream."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.core.database import Database
from app.services.health.actions import record_actions
from app.services.health.candidates import candidates, with_candidate
from app.services.kpis.filters import Filters
from app.services.kpis.store import KpiStore
from app.services.mapping.activation import activate_ruleset
from app.services.mapping.preview import validate_file
from bench.mapping_accuracy import EXAMPLES, load_export
from sandbox.history import build_params, generate
from sandbox.history.forms import CONTACT_US, NEWSLETTER, PRICING

NOW = datetime(2025, 7, 1, tzinfo=UTC)
OPPORTUNITIES = 3000


def test_the_questionnaire_and_the_pricing_form_are_proposed_for_hubspot(
    db: Database, tmp_path: Path
) -> None:
    params = build_params(
        seed=1, opportunities=OPPORTUNITIES, now=NOW, security_review=True, forms=True
    )
    generate(params, tmp_path, force=True)
    load_export(db, tmp_path, "hubspot")
    rules = (EXAMPLES / "hubspot.yaml").read_text()
    assert "security" not in rules.lower() and "form_submissions" not in rules
    activate_ruleset(db, rules, "hubspot.yaml")

    answer = candidates(db, KpiStore(db, as_of_setting=NOW).snapshot(), Filters())
    top = answer.candidates[:3]
    actions = [c.action for c in answer.candidates]

    mails = [c for c in top if "security questionnaire" in c.rule_yaml.lower()]
    assert mails, actions
    mail = mails[0]
    assert mail.stream == "emails" and mail.lift > 0.2 and mail.lift_low > 0
    assert mail.deals >= 50 and mail.validates and not mail.problems
    assert "hs_email_direction: INCOMING_EMAIL" in mail.rule_yaml
    assert all(e.evidence.stream == "emails" for e in mail.evidence)

    forms = [c for c in top if c.stream == "form_submissions"]
    assert forms, actions
    pricing = forms[0]
    assert (
        PRICING.guid in pricing.rule_yaml and "name: 'Form: Pricing inquiry'" in pricing.rule_yaml
    )
    assert pricing.lift > 0.2 and pricing.lift_low > 0 and pricing.deals >= 50
    assert pricing.validates and not pricing.problems
    assert pricing.after == "meeting_held"
    assert pricing.evidence and all(e.text == "Pricing inquiry" for e in pricing.evidence)
    assert all(e.evidence.stream == "form_submissions" for e in pricing.evidence)
    for form in (CONTACT_US, NEWSLETTER):
        assert all(form.guid not in c.rule_yaml for c in answer.candidates), actions

    draft = with_candidate(with_candidate(rules, mail), pricing)
    assert validate_file(db, draft, "draft.yaml", with_data=False).ok


def test_a_form_submission_is_described_by_its_form_alone() -> None:
    submission = {
        "conversionId": "c-1",
        "submittedAt": 1741083300000,
        "formId": PRICING.guid,
        "formName": "Pricing inquiry",
        "email": "ann@acme.example",
    }
    (action,) = record_actions("hubspot", "form_submissions", submission, "Acme pricing")
    assert action.when == {"formId": PRICING.guid}
    assert action.key == f"form_submissions||formId={PRICING.guid}"
    assert "Pricing inquiry" in action.label
