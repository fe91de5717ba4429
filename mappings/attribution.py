"""Which opportunity a matched record belongs to, as a pure function of its links.

Steps are tried in the rule's order (default: direct, contact, account):

- `direct`: the opportunities the record is linked to.
- `contact`: the opportunities of the record's contacts (contact roles, deal associations) that
  were open when the customer acted.
- `account`: the opportunities of the record's accounts (or its contacts' accounts) that were
  open when the customer acted.

The first step that finds any opportunity decides: the record belongs there and nowhere else.
Of what it found, only opportunities of the rule's process get the event (so a record linked to
a deal of another process counts for nobody in this one, rather than for some other deal of the
account). `pick: nearest` keeps the one created most recently before the customer acted,
`pick: all` keeps every one; direct links are always kept all.

An opportunity deleted in the CRM takes part in none of this. What it was given while it
lived is told apart: `candidates(..., held_at=t)` looks the opportunities up as an export
taken at `t` holds them (those deleted after `t` still there), which is how that export
attributes the record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from mappings.links import Links
from mappings.model import Attribution
from mappings.opportunities import OpportunityFacts
from mappings.resolver import Resolver

__all__ = ["attribute", "candidates", "choose"]

ProcessOf = Callable[[str], str | None]


def _nearest(candidates: list[OpportunityFacts], at: datetime) -> list[OpportunityFacts]:
    def order(facts: OpportunityFacts) -> tuple[float, str]:
        created = facts.created_at.timestamp() if facts.created_at is not None else float("-inf")
        return (created, facts.external_id)

    return [max(candidates, key=order)]


def _facts(
    ids: Iterable[str],
    resolver: Resolver,
    at: datetime,
    held_at: datetime | None,
    skipped: list[OpportunityFacts] | None,
) -> list[OpportunityFacts]:
    found: list[OpportunityFacts] = []
    for external_id in dict.fromkeys(ids):
        facts = resolver.opportunity(external_id)
        if facts is None:
            continue
        if not facts.deleted or (held_at is not None and facts.alive_at(held_at)):
            found.append(facts)
        elif skipped is not None and facts.alive_at(at):
            skipped.append(facts)
    return found


Found = tuple[str, list[OpportunityFacts]]
"""The step that decided, and the opportunities it found (before the process filter)."""


def candidates(
    links: Links,
    at: datetime,
    via: tuple[str, ...],
    resolver: Resolver,
    *,
    held_at: datetime | None = None,
    skipped: list[OpportunityFacts] | None = None,
) -> Found | None:
    """The first step of `via` that finds an opportunity, and what it found; None: no step.

    Independent of the process, so a record matched by rules of several processes looks its
    opportunities up once. `held_at` (at or after `at`): opportunities deleted after it count
    too, as an export taken then has them; without it, deleted opportunities the CRM still
    held at `at` are appended to `skipped`, if given.
    """
    for step in via:
        if step == "direct":
            direct = _facts(links.opportunities, resolver, at, held_at, skipped)
            if direct:
                return step, direct
            continue
        if step == "contact":
            ids = [o for contact in links.contacts for o in resolver.contact_opportunities(contact)]
        else:
            accounts = links.accounts or links.contact_accounts
            ids = [o for account in accounts for o in resolver.account_opportunities(account)]
        found = [
            f for f in _facts(ids, resolver, at, held_at, skipped) if f.open_at(at, held_at=held_at)
        ]
        if found:
            return step, found
    return None


def choose(
    found: Found | None,
    at: datetime,
    process_key: str,
    attribution: Attribution,
    process_of: ProcessOf,
) -> tuple[str, ...]:
    """Of what the deciding step found, the opportunities of this process that get the event."""
    if found is None:
        return ()
    step, facts = found
    in_process = [f for f in facts if process_of(f.external_id) == process_key]
    if not in_process:
        return ()
    if step != "direct" and attribution.pick == "nearest":
        in_process = _nearest(in_process, at)
    return tuple(sorted(f.external_id for f in in_process))


def attribute(
    links: Links,
    at: datetime,
    process_key: str,
    attribution: Attribution,
    resolver: Resolver,
    process_of: ProcessOf,
) -> tuple[str, ...]:
    """External ids of the opportunities that get the event (empty: nobody)."""
    found = candidates(links, at, attribution.via, resolver)
    return choose(found, at, process_key, attribution, process_of)
