"""Associations take one shape whichever endpoint supplied them."""

from __future__ import annotations

from connectors.hubspot.associations import (
    canonical_associations,
    inverse_type_id,
    type_name,
    v4_links,
)


def test_v4_answers_become_v3_items_one_per_association_type() -> None:
    results = [
        {
            "from": {"id": "20000000001"},
            "to": [
                {
                    "toObjectId": 18000000002,
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"},
                        {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None},
                    ],
                },
                {"toObjectId": 18000000001, "associationTypes": [{"typeId": 77, "label": "Buyer"}]},
            ],
        },
        {"from": {"id": "20000000002"}, "to": []},
        "not a result",
    ]
    assert v4_links("contacts", "companies", results) == {
        "20000000001": [
            {"id": "18000000002", "type": "contact_to_company"},
            {"id": "18000000002", "type": "contact_to_company_unlabeled"},
            {"id": "18000000001", "type": "Buyer"},
        ],
        "20000000002": [],
    }


def test_canonical_groups_are_sorted_by_numeric_id_and_empty_ones_dropped() -> None:
    raw = {
        "deals": {"results": [{"id": "100", "type": "email_to_deal"}, {"id": "9", "type": "x"}]},
        "contacts": {"results": []},
        "companies": {"results": [{"id": "5", "type": "email_to_company"}], "paging": {}},
    }
    assert canonical_associations(raw) == {
        "deals": {"results": [{"id": "9", "type": "x"}, {"id": "100", "type": "email_to_deal"}]},
        "companies": {"results": [{"id": "5", "type": "email_to_company"}]},
    }
    assert canonical_associations({"contacts": {"results": []}}) is None
    assert canonical_associations(None) is None


def test_type_names_and_inverses_follow_hubspots_table() -> None:
    assert type_name(210, None, "emails", "deals") == "email_to_deal"
    assert type_name(None, None, "calls", "companies") == "call_to_company"
    assert (inverse_type_id(1), inverse_type_id(279), inverse_type_id(198)) == (2, 280, 197)
    assert inverse_type_id(4242) == 4242
