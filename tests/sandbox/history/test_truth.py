"""Ground truth: every deal, its true milestone times and outcome, the evidence, the parameters."""

from __future__ import annotations

import json

from sandbox.history.truth import STEP_KEYS
from tests.sandbox.history.conftest import Export


def test_one_row_per_real_deal_linked_to_both_crms(export: Export) -> None:
    deals = export.rows("truth/deals.csv")
    assert len(deals) == export.summary["counts"]["truth"]["deals"]
    assert len(deals) >= 300  # all up to now, plus those created before the horizon
    opportunities = {
        r["Id"]
        for folder in ("salesforce", "future/salesforce")
        for r in export.rows(f"{folder}/Opportunity.csv")
    }
    hubspot_deals = {
        r["id"]
        for folder in ("hubspot", "future/hubspot")
        for r in export.rows(f"{folder}/deals.csv")
    }
    for deal in deals:
        assert deal["salesforce_opportunity_id"] in opportunities
        assert deal["hubspot_deal_id"] in hubspot_deals
        assert deal["segment"] in ("enterprise", "smb")
        assert deal["outcome"] in ("won", "lost", "open")
        assert (deal["closed_at"] == "") == (deal["outcome"] == "open")
        reached = [deal[key] for key in STEP_KEYS if deal[key]]
        assert reached == sorted(reached)
        assert all(t > deal["created_at"] for t in reached)
        if deal["outcome"] == "won":
            assert deal["signed"] == deal["closed_at"]
    # Junk duplicates are CRM records, not deals: the CRM has a few more opportunities.
    assert len(opportunities) > len(deals)


def test_evidence_points_at_the_customers_own_records(export: Export) -> None:
    milestones = export.rows("truth/milestones.csv")
    deals = {d["deal_key"]: d for d in export.rows("truth/deals.csv")}
    emails = {
        r["Id"]: r
        for folder in ("salesforce", "future/salesforce")
        for r in export.rows(f"{folder}/EmailMessage.csv")
    }
    tasks = {
        r["Id"]: r
        for folder in ("salesforce", "future/salesforce")
        for r in export.rows(f"{folder}/Task.csv")
    }
    hubspot = {
        (name, r["id"]): r
        for name in ("emails", "meetings", "calls")
        for folder in ("hubspot", "future/hubspot")
        for r in export.rows(f"{folder}/{name}.csv")
    }
    found = 0
    for row in milestones:
        assert deals[row["deal_key"]][row["step"]] == row["occurred_at"]
        assert row["kind"] in ("does", "says", "writes")
        if row["salesforce_object"] == "EmailMessage" and row["salesforce_id"] in emails:
            assert emails[row["salesforce_id"]]["Incoming"] == "true"
            assert emails[row["salesforce_id"]]["MessageDate"] == row["occurred_at"]
            found += 1
        if row["salesforce_object"] == "Task" and row["salesforce_id"] in tasks:
            assert tasks[row["salesforce_id"]]["TaskSubtype"] == "Call"
        engagement = hubspot.get((row["hubspot_object"], row["hubspot_id"]))
        if engagement is not None:
            assert engagement["hs_timestamp"] == row["occurred_at"]
            if row["hubspot_object"] == "emails":
                assert engagement["hs_email_direction"] == "INCOMING_EMAIL"
    assert found > 0.5 * len(milestones)
    reached = sum(1 for d in deals.values() for key in STEP_KEYS if d[key])
    assert len(milestones) == reached


def test_parameters_are_written_in_full(export: Export) -> None:
    written = json.loads((export.out / "truth/parameters.json").read_text())
    assert written == json.loads(json.dumps(export.params.to_json()))
    assert written["noise"]["duplicate"] > 0
    assert len(written["seasonality"]["monthly"]) == 12
