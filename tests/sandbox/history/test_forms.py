"""`--forms`: the deals' contacts fill in website forms, which HubSpot keeps; a pricing inquiry
after the meeting far more often in deals that are won, the other forms regardless of the
outcome. Every other record is the same as without forms."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from sandbox.history.forms import DEMO, FORMS, PRICING
from tests.sandbox.history.conftest import Export, make_export


def _share(submitted: set[str], deals: set[str]) -> float:
    return len(submitted & deals) / len(deals)


def test_forms_add_their_files_and_change_no_other(tmp_path: Path, export: Export) -> None:
    with_forms = make_export(tmp_path / "forms", forms=True)
    for crm in ("salesforce", "hubspot", "future/salesforce", "future/hubspot"):
        for path in sorted((export.out / crm).glob("*")):
            assert path.read_bytes() == (with_forms.out / crm / path.name).read_bytes(), path
    assert not (export.out / "hubspot/form_submissions.csv").exists()
    forms = json.loads((with_forms.out / "hubspot/forms.json").read_text())
    assert [(f["id"], f["name"]) for f in forms] == [(f.guid, f.name) for f in FORMS]
    assert with_forms.summary["counts"]["hubspot"]["form_submissions"] == len(
        with_forms.rows("hubspot/form_submissions.csv")
    )
    again = make_export(tmp_path / "again", forms=True)
    for name in ("form_submissions.csv", "forms.json"):
        assert (again.out / "hubspot" / name).read_bytes() == (
            with_forms.out / "hubspot" / name
        ).read_bytes()


def test_pricing_inquiries_come_mostly_from_deals_that_are_won(tmp_path: Path) -> None:
    export = make_export(tmp_path / "forms", forms=True, future_days=0)
    contacts = {c["id"]: c["email"] for c in export.rows("hubspot/contacts.csv")}
    created = {c["id"]: c["createdAt"] for c in export.rows("hubspot/contacts.csv")}
    deals_of: dict[str, set[str]] = defaultdict(set)
    for link in export.rows("hubspot/associations.csv"):
        if link["fromType"] == "deals" and link["toType"] == "contacts":
            deals_of[contacts[link["toId"]]].add(link["fromId"])
    by_form: dict[str, set[str]] = defaultdict(set)
    for row in export.rows("hubspot/form_submissions.csv"):
        by_form[row["formId"]] |= deals_of[row["email"]]
        (contact,) = [i for i, e in contacts.items() if e == row["email"]]
        assert created[contact] <= row["submittedAt"]  # never before the contact exists
    deals = export.rows("hubspot/deals.csv")
    won = {d["id"] for d in deals if d["hs_is_closed_won"] == "true"}
    lost = {d["id"] for d in deals if d["hs_is_closed"] == "true"} - won
    pricing_won, pricing_lost = (
        _share(by_form[PRICING.guid], won),
        _share(by_form[PRICING.guid], lost),
    )
    assert pricing_won > 0.4 and pricing_lost < 0.2, (pricing_won, pricing_lost)
    demo_won, demo_lost = _share(by_form[DEMO.guid], won), _share(by_form[DEMO.guid], lost)
    assert abs(demo_won - demo_lost) < 0.15, (demo_won, demo_lost)
