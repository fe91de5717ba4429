"""`--security-review`: one more customer email after the meeting, far more often in deals that
are won; the deals themselves do not change."""

from __future__ import annotations

from pathlib import Path

from tests.sandbox.history.conftest import Export, make_export


def test_questionnaires_come_after_the_meeting_mostly_in_won_deals(
    tmp_path: Path, export: Export
) -> None:
    reviewed = make_export(tmp_path / "reviewed", security_review=True)
    fields = ("Id", "StageName", "Amount", "CloseDate", "IsWon", "CreatedDate")
    assert [[o[f] for f in fields] for o in reviewed.rows("salesforce/Opportunity.csv")] == [
        [o[f] for f in fields] for o in export.rows("salesforce/Opportunity.csv")
    ]
    assert "security" not in str(export.rows("salesforce/EmailMessage.csv")).lower()
    mails = [
        m
        for m in reviewed.rows("salesforce/EmailMessage.csv")
        if m["Subject"].startswith("Security questionnaire")
    ]
    assert mails and all(m["Incoming"] == "true" and m["HasAttachment"] == "true" for m in mails)
    deals_now = export.rows("salesforce/Opportunity.csv")
    won = {o["Id"] for o in deals_now if o["IsWon"] == "true"}
    closed = {o["Id"] for o in deals_now if o["IsClosed"] == "true"}
    deals = {m["RelatedToId"] for m in mails}
    in_won = len(deals & won) / len(won)
    in_lost = len(deals & (closed - won)) / len(closed - won)
    assert in_won > 0.4 and in_lost < 0.2, (in_won, in_lost)
