"""Candidate milestones against a generated history with a predictive customer action that the
shipped rules do not map (`--security-review`: customers send a completed security
questionnaire after the meeting, in 70 % of the deals they sign and 10 % of the others).

It is proposed among the top three candidates, with a milestone that validates; the draft
with it, compared with the active version before activation, forecasts better (lower WAPE),
and after activation the backtest scores what the comparison said."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core.database import Database
from app.services.health.actions import record_actions
from app.services.health.candidates import candidates, with_candidate
from app.services.health.versions import compare_versions
from app.services.kpis.backtest import BacktestReport, run_backtest
from app.services.kpis.filters import Filters
from app.services.kpis.store import KpiStore
from app.services.mapping.activation import activate_ruleset
from app.services.mapping.preview import validate_file
from bench.mapping_accuracy import EXAMPLES, load_export
from sandbox.history import build_params, generate

NOW = datetime(2025, 7, 1, tzinfo=UTC)
OPPORTUNITIES = 3000


def _wape(database: Database) -> float:
    """Mean WAPE over the backtest's cells for the deals open at each origin, horizons 1-3,
    single month and cumulative."""
    report = run_backtest(database, store=KpiStore(database, as_of_setting=NOW), horizons=3)
    # the same cells as compare_versions' mean WAPE: the open part, horizons 1-3
    assert isinstance(report, BacktestReport)
    scores = [c.milestones.wape for c in report.cells if c.part == "open"]
    assert scores and all(s is not None for s in scores)
    return sum(s for s in scores if s is not None) / len(scores)


def test_an_unmapped_predictive_action_is_proposed_and_improves_the_forecast(
    db: Database, tmp_path: Path
) -> None:
    params = build_params(seed=1, opportunities=OPPORTUNITIES, now=NOW, security_review=True)
    generate(params, tmp_path, force=True)
    load_export(db, tmp_path, "salesforce")
    rules = (EXAMPLES / "salesforce.yaml").read_text()
    assert "security" not in rules.lower()
    activate_ruleset(db, rules, "salesforce.yaml")

    answer = candidates(db, KpiStore(db, as_of_setting=NOW).snapshot(), Filters())
    top = answer.candidates[:3]
    found = [c for c in top if "security questionnaire" in c.rule_yaml]
    assert found, [c.action for c in answer.candidates]
    best = found[0]
    assert best.lift > 0.2 and best.lift_low > 0 and best.deals >= 50
    assert best.after == "meeting_held" and best.validates and not best.problems
    assert best.evidence and all(e.evidence.stream == "EmailMessage" for e in best.evidence)
    assert all("ecurity questionnaire" in e.text for e in best.evidence)
    assert "Incoming: true" in best.rule_yaml  # the customer's side, as the guard wants

    draft = rules
    for candidate in found:
        draft = with_candidate(draft, candidate)
    assert validate_file(db, draft, "draft.yaml", with_data=False).ok
    store = KpiStore(db, as_of_setting=NOW)
    compared = compare_versions(db, draft, "draft.yaml", store=store)
    assert compared.better == "draft", compared.verdict
    assert compared.draft_wape is not None and compared.active_wape is not None
    before = _wape(db)
    assert before == pytest.approx(compared.active_wape, abs=1e-4)
    activate_ruleset(db, draft, "draft.yaml")
    after = _wape(db)
    assert after < before, (before, after)
    assert after == pytest.approx(compared.draft_wape, abs=1e-4)


def test_only_customer_records_are_described_and_names_are_left_out() -> None:
    email = {"Incoming": True, "HasAttachment": True, "Subject": "RE: Acme GmbH security review"}
    keys = {a.key for a in record_actions("salesforce", "EmailMessage", email, "Acme GmbH")}
    assert keys == {
        "EmailMessage|Incoming=true|HasAttachment",
        "EmailMessage|Incoming=true|Subject~security",
        "EmailMessage|Incoming=true|Subject~review",
    }
    sent = {"Incoming": False, "Subject": "Security review", "Status": "3"}
    assert list(record_actions("salesforce", "EmailMessage", sent)) == []
    attempt = {"TaskSubtype": "Call", "CallDisposition": "No Answer", "Subject": "Call attempt"}
    assert list(record_actions("salesforce", "Task", attempt)) == []
    call = {"TaskSubtype": "Call", "CallType": "Inbound", "CallDisposition": "Connected",
            "Subject": "Reference check"}  # fmt: skip
    (when,) = [a.when for a in record_actions("salesforce", "Task", call) if "~check" in a.key]
    assert when == {"CallType": "Inbound", "Subject": {"contains": "check"}}


def test_hubspot_engagements_are_described_by_their_properties() -> None:
    email = {"properties": {"hs_email_direction": "INCOMING_EMAIL", "hs_attachment_ids": "7",
                            "hs_email_subject": "Security questionnaire"}}  # fmt: skip
    whens = [a.when for a in record_actions("hubspot", "emails", email)]
    assert {"hs_email_direction": "INCOMING_EMAIL", "hs_attachment_ids": {"exists": True}} in whens
    forwarded = {"properties": {"hs_email_direction": "FORWARDED_EMAIL", "hs_email_subject": "x"}}
    assert list(record_actions("hubspot", "emails", forwarded)) == []
    meeting = {"properties": {"hs_meeting_outcome": "COMPLETED", "hs_activity_type": "Workshop",
                              "hs_meeting_title": "Technical workshop"}}  # fmt: skip
    keys = {a.key for a in record_actions("hubspot", "meetings", meeting)}
    assert "meetings|hs_meeting_outcome=COMPLETED|hs_activity_type=Workshop" in keys
    no_show = {"properties": {"hs_meeting_outcome": "NO_SHOW", "hs_meeting_title": "Intro"}}
    assert list(record_actions("hubspot", "meetings", no_show)) == []
