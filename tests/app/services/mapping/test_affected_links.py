"""A change to an entity re-derives exactly the records the engine linked to it.

Mapping runs store each matched record under the links `mappings.links.record_links` finds;
when an opportunity or a contact role changes, the run asks the same function which links
changed, so the two can never disagree about which records belong to which opportunity.
"""

from __future__ import annotations

from typing import Any

from app.services.mapping.runs import _affected
from mappings.links import record_links
from mappings.resolver import EntityIndex
from tests.app.services.mapping.mapping_world import sf

OPPORTUNITY = sf("Opportunity", "006A", AccountId="001A", StageName="Prospecting")
ROLE = sf("OpportunityContactRole", "00KA", OpportunityId="006A", ContactId="003A")
CONTACT = sf("Contact", "003A", AccountId="001A")
TASK = sf("Task", "00TA", WhoId="003A", WhatId="001A", Subject="Call")


def _index() -> EntityIndex:
    index = EntityIndex("salesforce")
    for record in (OPPORTUNITY, ROLE, CONTACT):
        index.add(record["attributes"]["type"], record["Id"], record)
    return index


def _row(record: dict[str, Any]) -> tuple[str, str, bool, Any]:
    return (record["attributes"]["type"], record["Id"], False, record)


def test_a_contact_role_change_reaches_the_records_of_its_contact_and_opportunity() -> None:
    index = _index()
    links, opportunities = _affected(index, [_row(ROLE)])
    assert links == {("opportunity", "006A"), ("contact", "003A")}
    assert opportunities == set()
    task_links = set(record_links("salesforce", "Task", TASK, index).all_ids())
    assert ("contact", "003A") in task_links & links
    assert index.contact_opportunities("003A") == ("006A",)


def test_an_opportunity_change_reaches_its_own_its_account_and_its_contacts_records() -> None:
    index = _index()
    links, opportunities = _affected(index, [_row(OPPORTUNITY)])
    found = record_links("salesforce", "Opportunity", OPPORTUNITY, index)
    assert opportunities == {"006A"}
    assert links == {("opportunity", "006A"), *(("account", a) for a in found.accounts)}
    assert ("account", "001A") in set(record_links("salesforce", "Task", TASK, index).all_ids())


def test_a_contact_role_without_a_contact_id_reaches_only_its_opportunity() -> None:
    role = sf("OpportunityContactRole", "00KB", OpportunityId="006A", ContactId=None)
    links, _ = _affected(_index(), [_row(role)])
    assert links == {("opportunity", "006A")}
