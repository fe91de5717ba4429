"""Outcomes come from the opportunity or deal itself; the index follows edits and deletions."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mappings.opportunities import read_opportunity
from mappings.resolver import EntityIndex
from mappings.values import as_text, to_bool, to_datetime, to_number
from tests.mappings.builders import hs, sf, sf_opportunity


def test_salesforce_outcomes_and_close_times() -> None:
    open_ = read_opportunity("salesforce", sf_opportunity("006A"))
    assert (open_.outcome, open_.closed_at, open_.amount, open_.close_date) == (
        "open",
        None,
        10000.0,
        date(2025, 6, 30),
    )
    won = read_opportunity(
        "salesforce",
        sf_opportunity(
            "006B", IsClosed=True, IsWon=True, LastStageChangeDate="2025-03-04T10:00:00.000+0000"
        ),
    )
    assert (won.outcome, won.closed_at) == ("won", datetime(2025, 3, 4, 10, tzinfo=UTC))
    lost = read_opportunity(
        "salesforce", sf_opportunity("006C", IsClosed=True, CloseDate="2025-02-01")
    )
    assert (lost.outcome, lost.closed_at) == ("lost", datetime(2025, 2, 1, tzinfo=UTC))
    assert read_opportunity("salesforce", sf_opportunity("006D", IsDeleted=True)).deleted


def test_hubspot_outcomes_from_flags_or_stages() -> None:
    won = read_opportunity(
        "hubspot",
        hs(
            "1",
            {
                "hs_is_closed_won": "true",
                "hs_is_closed": "true",
                "closedate": "2025-03-04T00:00:00.000Z",
                "hs_deal_stage_probability": "1.0",
                "amount": "7700",
            },
            {"companies": ["9"]},
        ),
    )
    assert (won.outcome, won.stage_probability, won.amount, won.account_id) == (
        "won",
        100.0,
        7700.0,
        "9",
    )
    lost = read_opportunity("hubspot", hs("2", {"dealstage": "closedlost"}))
    assert lost.outcome == "lost"
    still_open = read_opportunity(
        "hubspot", hs("3", {"dealstage": "158273641", "hs_is_closed": "false"})
    )
    assert still_open.outcome == "open" and still_open.closed_at is None
    assert read_opportunity("hubspot", hs("4", {}, archived=True)).deleted


def test_the_index_replaces_links_when_records_change() -> None:
    index = EntityIndex("salesforce")
    index.add("Opportunity", "006A", sf_opportunity("006A", AccountId="001A"))
    index.add(
        "OpportunityContactRole",
        "00KA",
        sf("OpportunityContactRole", "00KA", OpportunityId="006A", ContactId="003A"),
    )
    assert index.account_opportunities("001A") == ("006A",)
    assert index.contact_opportunities("003A") == ("006A",)
    index.add("Opportunity", "006A", sf_opportunity("006A", AccountId="001B"))
    assert index.account_opportunities("001A") == ()
    assert index.account_opportunities("001B") == ("006A",)
    index.add(
        "OpportunityContactRole",
        "00KA",
        sf("OpportunityContactRole", "00KA", OpportunityId="006A", ContactId="003A"),
        deleted=True,
    )
    assert index.contact_opportunities("003A") == ()
    index.add("Contact", "003A", sf("Contact", "003A", AccountId="001B"))
    assert index.contact_accounts("003A") == ("001B",)
    assert index.record("Contact", "003A") is not None
    index.add("Contact", "003A", sf("Contact", "003A", AccountId="001B"), deleted=True)
    assert index.record("Contact", "003A") is None
    opportunity = index.opportunity("006A")
    assert opportunity is not None and opportunity.account_id == "001B"
    assert index.opportunity_record("006A") == sf_opportunity("006A", AccountId="001B")


def test_hubspot_contacts_and_companies_link_deals_both_ways() -> None:
    index = EntityIndex("hubspot")
    index.add("contacts", "21", hs("21", {"associatedcompanyid": "31"}, {"deals": ["11"]}))
    index.add("companies", "31", hs("31", {"name": "Acme"}, {"deals": ["12"]}))
    index.add("deals", "11", hs("11", {}, {"companies": ["31"]}))
    assert index.contact_opportunities("21") == ("11",)
    assert index.account_opportunities("31") == ("11", "12")
    assert index.contact_accounts("21") == ("31",)


def test_value_readers() -> None:
    assert to_datetime("2025-03-04T10:15:00.000+0000") == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert to_datetime("2025-03-04T10:15:00Z") == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert to_datetime(1741083300000) == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert to_datetime(1741083300) == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert to_datetime(datetime(2025, 3, 4, 10, 15)) == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert to_datetime("") is None and to_datetime("soon") is None and to_datetime(True) is None
    assert to_number("12.5") == 12.5 and to_number("x") is None and to_number(True) is None
    assert to_bool("TRUE") is True and to_bool("no") is None
    assert as_text(3.0) == "3" and as_text(False) == "false" and as_text(None) == ""
