"""Records in, milestone events out: matching, attribution and the process of each opportunity.

    engine = Engine(compile_ruleset(ruleset), "salesforce", resolver)
    derivation = engine.derive("EmailMessage", "02s...", payload)
    derivation.events     # (opportunity, process, milestone, rule, occurred_at, evidence)

Deterministic: the same record, resolver contents and ruleset always give the same events, in
the same order. A deleted record gives none, so re-deriving it withdraws what it caused.

An opportunity deleted in the CRM gets no event in the attribution of today, but keeps the
ones the record gave it while it lived: an export taken before the deletion holds it with
them, attributed as that export attributes the record. Each deletion among the candidates
after the customer acted can move the record to others (the duplicate deleted, the deal it
duplicated takes the email over); an event says from when its attribution holds
(`attributed_from`: None from the action on, else the deletion that gave it), so an answer
about a past instant counts each record where an export taken then counts it. Readers of
today leave deleted opportunities out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mappings.attribution import Found, candidates, choose
from mappings.catalog import Source
from mappings.compiler import CompiledRuleset, Hit
from mappings.links import EMPTY_LINKS, Links, record_links, related_records
from mappings.model import Kind
from mappings.opportunities import OpportunityFacts, is_deleted
from mappings.resolver import Resolver

__all__ = ["Derivation", "DerivedEvent", "Engine"]

Record = Mapping[str, Any]


@dataclass(frozen=True, slots=True, order=True)
class DerivedEvent:
    opportunity_id: str
    process_key: str
    milestone_key: str
    rule_key: str
    occurred_at: datetime
    stream: str
    external_id: str
    kind: Kind
    attributed_from: datetime | None = None
    """From when the opportunity has the event: None, from the customer's action; else the
    deletion of another candidate that moved the record to it."""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What makes two events the same event (its time may move)."""
        return (self.opportunity_id, self.process_key, self.milestone_key, self.rule_key)


@dataclass(frozen=True, slots=True)
class Derivation:
    events: tuple[DerivedEvent, ...]
    links: Links
    hits: tuple[Hit, ...]

    @property
    def matched(self) -> bool:
        return bool(self.hits)


NOTHING = Derivation((), EMPTY_LINKS, ())


class Engine:
    """One ruleset over one connection's records; keeps a cache of opportunity processes."""

    def __init__(self, compiled: CompiledRuleset, source: Source, resolver: Resolver) -> None:
        self.compiled = compiled
        self.source = source
        self.resolver = resolver
        self._processes: dict[str, str | None] = {}

    # -- Env, for conditions on associated records -------------------------------------------------

    def related(
        self, source: Source, stream: str, record: Record, hop: str
    ) -> list[tuple[str, Record]]:
        return related_records(source, stream, record, hop, self.resolver)

    # -- processes ---------------------------------------------------------------------------------

    def process_of(self, opportunity_id: str) -> str | None:
        """The process whose segment selects this opportunity (cached)."""
        if opportunity_id in self._processes:
            return self._processes[opportunity_id]
        record = self.resolver.opportunity_record(opportunity_id)
        key = None
        if record is not None:
            key = self.compiled.process_of(self.source, record, self)
        self._processes[opportunity_id] = key
        return key

    def forget(self, opportunity_ids: Iterable[str] | None = None) -> None:
        """Drop cached processes (all, or of these opportunities) after their records changed."""
        if opportunity_ids is None:
            self._processes.clear()
            return
        for opportunity_id in opportunity_ids:
            self._processes.pop(opportunity_id, None)

    # -- records -----------------------------------------------------------------------------------

    def matches(self, stream: str, record: Record) -> list[Hit]:
        return self.compiled.match(self.source, stream, record, self)

    def derive(
        self,
        stream: str,
        external_id: str,
        record: Record,
        deleted: bool = False,
        hits: list[Hit] | None = None,
    ) -> Derivation:
        """The events this record proves; `hits` when the caller has matched it already."""
        if hits is None:
            hits = self.compiled.match(self.source, stream, record, self)
        if not hits or deleted or is_deleted(record):
            return NOTHING
        links = record_links(self.source, stream, record, self.resolver)
        events: list[DerivedEvent] = []
        looked_up: dict[tuple[datetime, tuple[str, ...]], list[tuple[datetime, Found | None]]] = {}
        for hit in hits:
            for target in hit.targets:
                key = (hit.occurred_at, target.attribution.via)
                if key not in looked_up:
                    looked_up[key] = self._eras(links, *key)
                owners: dict[str, datetime | None] = {}
                for i, (since, found) in enumerate(looked_up[key]):
                    chosen = choose(
                        found,
                        hit.occurred_at,
                        target.process_key,
                        target.attribution,
                        self.process_of,
                    )
                    for opportunity_id in chosen:
                        owners.setdefault(opportunity_id, since if i else None)
                events.extend(
                    DerivedEvent(
                        opportunity_id,
                        target.process_key,
                        target.milestone_key,
                        target.rule_key,
                        hit.occurred_at,
                        stream,
                        external_id,
                        target.kind,
                        attributed_from,
                    )
                    for opportunity_id, attributed_from in owners.items()
                )
        events.sort()
        return Derivation(tuple(events), links, tuple(hits))

    def _eras(
        self, links: Links, at: datetime, via: tuple[str, ...]
    ) -> list[tuple[datetime, Found | None]]:
        """The opportunities the record's links find, as exports taken from the action on
        hold them: from `at` (every candidate the CRM held then), and from each later deletion
        of one of them (the deleted ones gone); the last is today's. One era when none of the
        candidates was deleted since."""
        skipped: list[OpportunityFacts] = []
        today = candidates(links, at, via, self.resolver, skipped=skipped)
        if not skipped:
            return [(at, today)]
        deletions = sorted({f.deleted_at for f in skipped if f.deleted_at is not None})
        if not deletions:
            return [(at, today)]
        return [
            (since, candidates(links, at, via, self.resolver, held_at=since))
            for since in [at, *deletions[:-1]]
        ] + [(deletions[-1], today)]
