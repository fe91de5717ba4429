"""Which opportunities, contacts and accounts a record points at, per CRM and stream.

Salesforce records link through id fields whose 3-character key prefix names the object
(`006` opportunity, `001` account, `003` contact); an EmailMessage reaches its contact through
the Task it belongs to (`ActivityId`). HubSpot records carry `associations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mappings.catalog import HUBSPOT, Source

__all__ = [
    "ENTITY_STREAMS",
    "Links",
    "RecordLookup",
    "association_ids",
    "lookups",
    "record_links",
    "related_records",
]

OPPORTUNITY_PREFIX = "006"
ACCOUNT_PREFIX = "001"
CONTACT_PREFIX = "003"

ENTITY_STREAMS: dict[Source, dict[str, str]] = {
    "salesforce": {"opportunity": "Opportunity", "contact": "Contact", "account": "Account"},
    "hubspot": {"opportunity": "deals", "contact": "contacts", "account": "companies"},
}


class RecordLookup(Protocol):
    def record(self, stream: str, external_id: str) -> Mapping[str, Any] | None: ...

    def contact_accounts(self, contact_id: str) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class Links:
    opportunities: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    contact_accounts: tuple[str, ...] = ()
    """Accounts reached through the record's contacts (the fallback for `account`)."""

    def all_ids(self) -> list[tuple[str, str]]:
        """(kind, id) pairs, for the reverse index that finds records to re-derive."""
        pairs = [("opportunity", i) for i in self.opportunities]
        pairs += [("contact", i) for i in self.contacts]
        pairs += [("account", i) for i in dict.fromkeys(self.accounts + self.contact_accounts)]
        return pairs


EMPTY_LINKS = Links()


def _unique(values: Sequence[str | None]) -> tuple[str, ...]:
    if len(values) == 1:
        only = values[0]
        return (only,) if only else ()
    return tuple(dict.fromkeys([v for v in values if v]))


def association_ids(record: Mapping[str, Any], kind: str) -> list[str]:
    """Ids under `associations.<kind>.results` (v3 `id` or v4 `toObjectId`)."""
    associations = record.get("associations")
    if not isinstance(associations, Mapping):
        return []
    group = associations.get(kind)
    results = group.get("results") if isinstance(group, Mapping) else group
    if not isinstance(results, list):
        return []
    ids: list[str] = []
    for item in results:
        if isinstance(item, Mapping):
            value = item.get("id", item.get("toObjectId"))
            if value is not None:
                ids.append(str(value))
        elif isinstance(item, str | int):
            ids.append(str(item))
    return ids


def _sf_id(value: Any, prefix: str) -> str | None:
    return value if isinstance(value, str) and value.startswith(prefix) else None


def _hs_property(record: Mapping[str, Any], name: str) -> Any:
    properties = record.get("properties")
    return properties.get(name) if isinstance(properties, Mapping) else None


def contact_account(source: Source, contact: Mapping[str, Any]) -> list[str]:
    if source == HUBSPOT:
        company = _hs_property(contact, "associatedcompanyid")
        ids = association_ids(contact, "companies")
        return list(_unique([str(company) if company else None, *ids]))
    account = contact.get("AccountId")
    return [account] if isinstance(account, str) and account else []


def lookups(source: Source, stream: str, record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (stream, id) records `record_links` will ask for, so callers can fetch them in bulk."""
    if source != HUBSPOT and stream == "EmailMessage":
        task = record.get("ActivityId")
        if isinstance(task, str) and task:
            return [("Task", task)]
    return []


def record_links(
    source: Source, stream: str, record: Mapping[str, Any], lookup: RecordLookup
) -> Links:
    if source == HUBSPOT:
        return _hubspot_links(stream, record, lookup)
    return _salesforce_links(stream, record, lookup)


def _contact_accounts(contacts: tuple[str, ...], lookup: RecordLookup) -> tuple[str, ...]:
    found: list[str] = []
    for contact_id in contacts:
        found.extend(lookup.contact_accounts(contact_id))
    return _unique(found)


def _salesforce_links(stream: str, record: Mapping[str, Any], lookup: RecordLookup) -> Links:
    get = record.get
    if stream == "Opportunity":
        return Links(_unique([get("Id")]), (), _unique([get("AccountId")]))
    if stream in ("OpportunityHistory", "OpportunityContactRole"):
        contacts = _unique([_sf_id(get("ContactId"), CONTACT_PREFIX)])
        return Links(
            _unique([get("OpportunityId")]), contacts, (), _contact_accounts(contacts, lookup)
        )
    if stream == "Contact":
        return Links((), _unique([get("Id")]), _unique([get("AccountId")]))
    if stream == "Account":
        return Links((), (), _unique([get("Id")]))
    if stream == "Lead":
        return Links(
            _unique([get("ConvertedOpportunityId")]),
            _unique([get("ConvertedContactId")]),
            _unique([get("ConvertedAccountId")]),
        )
    what, who, account = get("WhatId"), get("WhoId"), get("AccountId")
    if stream == "EmailMessage":
        what = get("RelatedToId")
        task_id = get("ActivityId")
        task = lookup.record("Task", task_id) if isinstance(task_id, str) and task_id else None
        if task is not None:
            who = task.get("WhoId")
            account = task.get("AccountId")
            what = what or task.get("WhatId")
    opportunities = _unique([_sf_id(what, OPPORTUNITY_PREFIX)])
    contacts = _unique([_sf_id(who, CONTACT_PREFIX)])
    accounts = _unique([_sf_id(what, ACCOUNT_PREFIX), _sf_id(account, ACCOUNT_PREFIX)])
    return Links(opportunities, contacts, accounts, _contact_accounts(contacts, lookup))


def _hubspot_links(stream: str, record: Mapping[str, Any], lookup: RecordLookup) -> Links:
    own = str(record.get("id") or "")
    deals = association_ids(record, "deals")
    contacts = association_ids(record, "contacts")
    companies = association_ids(record, "companies")
    if stream == "deals":
        return Links(_unique([own]), _unique(contacts), _unique(companies))
    if stream == "contacts":
        return Links(_unique(deals), _unique([own]), _unique(contact_account("hubspot", record)))
    if stream == "companies":
        return Links(_unique(deals), _unique(contacts), _unique([own]))
    contact_ids = _unique(contacts)
    return Links(
        _unique(deals),
        contact_ids,
        _unique(companies),
        _contact_accounts(contact_ids, lookup),
    )


def related_records(
    source: Source,
    stream: str,
    record: Mapping[str, Any],
    hop: str,
    lookup: RecordLookup,
) -> list[tuple[str, Mapping[str, Any]]]:
    """The records one hop away (`contact`, `account`, `opportunity`), with their streams."""
    links = record_links(source, stream, record, lookup)
    if hop == "contact":
        ids: tuple[str, ...] = links.contacts
    elif hop == "account":
        ids = links.accounts or links.contact_accounts
    else:
        ids = links.opportunities
    target = ENTITY_STREAMS[source][hop]
    found: list[tuple[str, Mapping[str, Any]]] = []
    for external_id in ids:
        if external_id == record_id(source, record) and target == stream:
            found.append((target, record))
            continue
        related = lookup.record(target, external_id)
        if related is not None:
            found.append((target, related))
    return found


def record_id(source: Source, record: Mapping[str, Any]) -> str:
    value = record.get("id" if source == HUBSPOT else "Id")
    return str(value) if value is not None else ""
