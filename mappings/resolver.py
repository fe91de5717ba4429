"""How the engine reaches records other than the one it evaluates.

The engine is pure: it asks a `Resolver` for associated records (the contact's account, the
email's task) and for the opportunities a contact or an account has. `EntityIndex` is the
in-memory resolver built from the entity streams (opportunities, contacts, accounts and contact
roles, or deals, contacts and companies with their associations); the app fills it from the raw
layer and gives it a `fetch` for the rest, tests fill it by hand:

    index = EntityIndex("salesforce")
    index.add("Opportunity", "006A", {"Id": "006A", "AccountId": "001A", ...})
    index.add("OpportunityContactRole", "00KA", {"OpportunityId": "006A", "ContactId": "003A"})
    index.contact_opportunities("003A")       # ("006A",)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import orjson

from mappings.catalog import HUBSPOT, Source
from mappings.links import ENTITY_STREAMS, association_ids, contact_account
from mappings.opportunities import OpportunityFacts, is_deleted, read_opportunity

__all__ = ["ENTITY_STREAM_NAMES", "EntityIndex", "Fetch", "Resolver"]

Record = Mapping[str, Any]
Fetch = Callable[[str, str], Record | None]

_LINK_STREAMS: dict[Source, frozenset[str]] = {
    "salesforce": frozenset({"OpportunityContactRole"}),
    "hubspot": frozenset(),  # deals, contacts and companies carry their associations
}
ENTITY_STREAM_NAMES: dict[Source, frozenset[str]] = {
    source: frozenset(streams.values()) | _LINK_STREAMS[source]
    for source, streams in ENTITY_STREAMS.items()
}
"""The streams an `EntityIndex` is filled from: the entities and the records linking them."""


class Resolver(Protocol):
    def record(self, stream: str, external_id: str) -> Record | None: ...

    def contact_accounts(self, contact_id: str) -> Sequence[str]: ...

    def opportunity(self, external_id: str) -> OpportunityFacts | None: ...

    def opportunity_record(self, external_id: str) -> Record | None: ...

    def contact_opportunities(self, contact_id: str) -> Sequence[str]: ...

    def account_opportunities(self, account_id: str) -> Sequence[str]: ...


class _Reverse:
    """id -> ids, with each contributing record's entries remembered so edits replace them."""

    def __init__(self) -> None:
        self.map: dict[str, set[str]] = {}
        self.by_record: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def set(self, record_key: tuple[str, str], pairs: list[tuple[str, str]]) -> None:
        self.clear(record_key)
        if pairs:
            self.by_record[record_key] = pairs
            for key, value in pairs:
                self.map.setdefault(key, set()).add(value)

    def clear(self, record_key: tuple[str, str]) -> None:
        for key, value in self.by_record.pop(record_key, ()):
            values = self.map.get(key)
            if values is not None:
                values.discard(value)
                if not values:
                    del self.map[key]

    def get(self, key: str) -> tuple[str, ...]:
        values = self.map.get(key)
        return tuple(sorted(values)) if values else ()


class EntityIndex:
    """Opportunities, accounts and contacts of one connection, and the links between them.

    Opportunity and account payloads are kept (compactly, as JSON bytes); contacts keep only
    their accounts unless `keep_contacts`, and anything else comes from `fetch`.
    """

    def __init__(self, source: Source, fetch: Fetch | None = None, keep_contacts: bool = True):
        self.source = source
        self._fetch = fetch
        self._keep_contacts = keep_contacts
        self._opportunities: dict[str, tuple[OpportunityFacts, bytes]] = {}
        self._accounts: dict[str, bytes] = {}
        self._contacts: dict[str, tuple[str, ...]] = {}
        self._contact_payloads: dict[str, bytes] = {}
        self._contact_opps = _Reverse()
        self._account_opps = _Reverse()
        streams = ENTITY_STREAMS[source]
        self.opportunity_stream = streams["opportunity"]
        self.contact_stream = streams["contact"]
        self.account_stream = streams["account"]

    # -- filling -----------------------------------------------------------------------------------

    def handles(self, stream: str) -> bool:
        return stream in ENTITY_STREAM_NAMES[self.source]

    def add(
        self,
        stream: str,
        external_id: str,
        record: Record,
        deleted: bool = False,
        raw: bytes | None = None,
        modified_at: datetime | None = None,
    ) -> None:
        """Store (or replace) one entity record; a deleted one stays known as deleted, and
        since when (`modified_at`, the stored record's last change, is its deletion).

        `raw` is the record's JSON when the caller has it (saves serialising it again).
        """
        deleted = deleted or is_deleted(record)
        if stream == self.opportunity_stream:
            self._add_opportunity(external_id, record, deleted, raw, modified_at)
        elif stream == self.account_stream:
            if deleted:
                self._accounts.pop(external_id, None)
            else:
                self._accounts[external_id] = raw or orjson.dumps(record)
            if self.source == HUBSPOT:
                pairs = (
                    [] if deleted else [(external_id, d) for d in association_ids(record, "deals")]
                )
                self._account_opps.set((stream, external_id), pairs)
        elif stream == self.contact_stream:
            self._add_contact(external_id, record, deleted)
        elif stream == "OpportunityContactRole":
            contact, opportunity = record.get("ContactId"), record.get("OpportunityId")
            pairs = []
            if not deleted and isinstance(contact, str) and isinstance(opportunity, str):
                pairs = [(contact, opportunity)]
            self._contact_opps.set((stream, external_id), pairs)

    def _add_opportunity(
        self,
        external_id: str,
        record: Record,
        deleted: bool,
        raw: bytes | None,
        modified_at: datetime | None,
    ) -> None:
        facts = read_opportunity(self.source, record)
        if deleted:
            facts = replace(facts, deleted=True, deleted_at=modified_at)
        self._opportunities[external_id] = (facts, raw or orjson.dumps(record))
        key = (self.opportunity_stream, external_id)
        accounts = association_ids(record, "companies") if self.source == HUBSPOT else []
        if facts.account_id:
            accounts.append(facts.account_id)
        self._account_opps.set(key, [(a, external_id) for a in dict.fromkeys(accounts)])
        contacts: list[str] = []
        if self.source == HUBSPOT:
            contacts = association_ids(record, "contacts")
        elif isinstance(record.get("ContactId"), str):
            contacts = [record["ContactId"]]
        self._contact_opps.set(key, [(c, external_id) for c in contacts])

    def _add_contact(self, external_id: str, record: Record, deleted: bool) -> None:
        key = (self.contact_stream, external_id)
        if deleted:
            self._contacts.pop(external_id, None)
            self._contact_payloads.pop(external_id, None)
            self._contact_opps.set(key, [])
            return
        self._contacts[external_id] = tuple(contact_account(self.source, record))
        if self._keep_contacts:
            self._contact_payloads[external_id] = orjson.dumps(record)
        if self.source == HUBSPOT:
            deals = association_ids(record, "deals")
            self._contact_opps.set(key, [(external_id, d) for d in deals])

    # -- the Resolver interface --------------------------------------------------------------------

    def record(self, stream: str, external_id: str) -> Record | None:
        if stream == self.opportunity_stream:
            found = self._opportunities.get(external_id)
            if found is not None:
                loaded: Record = orjson.loads(found[1])
                return loaded
        elif stream == self.account_stream:
            payload = self._accounts.get(external_id)
            if payload is not None:
                account: Record = orjson.loads(payload)
                return account
        elif stream == self.contact_stream:
            payload = self._contact_payloads.get(external_id)
            if payload is not None:
                contact: Record = orjson.loads(payload)
                return contact
            if external_id not in self._contacts:
                return None
        return self._fetch(stream, external_id) if self._fetch is not None else None

    def contact_accounts(self, contact_id: str) -> Sequence[str]:
        return self._contacts.get(contact_id, ())

    def opportunity(self, external_id: str) -> OpportunityFacts | None:
        found = self._opportunities.get(external_id)
        return found[0] if found is not None else None

    def opportunity_record(self, external_id: str) -> Record | None:
        return self.record(self.opportunity_stream, external_id)

    def contact_opportunities(self, contact_id: str) -> Sequence[str]:
        return self._contact_opps.get(contact_id)

    def account_opportunities(self, account_id: str) -> Sequence[str]:
        return self._account_opps.get(account_id)

    # -- for callers -------------------------------------------------------------------------------

    def opportunity_ids(self) -> list[str]:
        return sorted(self._opportunities)

    def opportunities_of_account(self, account_id: str) -> tuple[str, ...]:
        return self._account_opps.get(account_id)

    def __len__(self) -> int:
        return len(self._opportunities) + len(self._accounts) + len(self._contacts)
