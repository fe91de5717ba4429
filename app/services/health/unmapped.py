"""Which customer actions in the stored records no milestone is made of: every record of a
customer-side activity stream (`actions.STREAMS`; the catalog's customer and seller facets, as
the validator's guard reads them), attributed to its opportunities by the engine's own
attribution, that no active rule makes the evidence of a milestone the deal had not reached
before it (a record that only repeats a milestone already reached, like a later email under a
catch-all "replied" rule, carries information no milestone uses). Each is described in the ways
a rule could select it (`actions.described`), per process, with when each deal first
showed it and a few evidence records.

    found = unmapped_actions(database, snapshot, mask)
    for (process, key), seen in found.seen.items(): seen.first   # row -> epoch seconds
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection as DbConnection
from sqlalchemy import select

from app.core.database import Database
from app.kpis.columns import epoch
from app.models import Connection, RulesetVersion
from app.services.health.actions import (
    NAMED,
    STREAMS,
    TEXT_FIELD,
    Action,
    customer_condition,
    described,
    getter,
    words,
)
from app.services.health.public import CandidateEvidence
from app.services.kpis.snapshot import ProcessInfo, Snapshot
from app.services.mapping.index import RawFetcher, build_index
from app.services.mapping.preview_report import EvidenceLink, OpportunityRef
from app.services.mapping.rulesets import (
    ConnectionInfo,
    RulesetRejected,
    VersionRuntime,
    connection_info,
    version_runtime,
)
from app.services.state.active import active_versions
from mappings.attribution import candidates, choose
from mappings.catalog import Source, StreamInfo, deep_link, stream_info
from mappings.compiler import Hit, make_getter
from mappings.engine import Engine
from mappings.links import ENTITY_STREAMS, lookups, record_links
from mappings.model import Attribution
from mappings.resolver import EntityIndex
from mappings.values import to_datetime

__all__ = ["Scan", "Seen", "merged", "unmapped_actions"]

SAMPLES = 3
BATCH = 5000


@dataclass
class Seen:
    """One description of records, per process: when each deal first showed it."""

    action: Action
    first: dict[int, float] = field(default_factory=dict)
    samples: list[CandidateEvidence] = field(default_factory=list)
    name: str = ""


NOUN = {"EmailMessage": "Email", "emails": "Email", "Task": "Call", "calls": "Call"}
NOUN |= {"Event": "Meeting", "meetings": "Meeting", "form_submissions": "Form"}


def merged(group: list[Seen]) -> Seen:
    """Descriptions that every deal showed at the same moments describe the same records:
    one candidate whose rule tests their words as the records spell them (a phrase when they
    stand together), and their other conditions."""
    first = group[0]
    stream, base = first.action.key.split("|")[:2]
    text_field = TEXT_FIELD[stream]
    sample = " ".join(e.text for e in first.samples).lower()
    terms: list[str] = []
    when: dict[str, Any] = {}
    for entry in group:
        for name, condition in entry.action.when.items():
            if name == text_field and isinstance(condition, dict):
                terms.append(condition["contains"])
            else:
                when[name] = condition
    order = words(sample)
    terms.sort(key=lambda t: order.index(t) if t in order else len(order))
    phrase = " ".join(terms)
    extra = {k: v for k, v in when.items() if k != base.split("=")[0]}
    if stream in NAMED and first.samples:
        title = f"{NOUN[stream]}: {first.samples[0].text}"
    elif terms:
        said = phrase if phrase in sample else terms[0]
        when[text_field] = {"contains": said}
        title = said.capitalize()
    elif any("attachment" in k.lower() for k in extra):
        title = f"{NOUN[stream]} with an attachment"
    else:
        title = f"{NOUN[stream]}: " + ", ".join(str(v) for v in extra.values())
    keys = "&".join(sorted(e.action.key.split("|", 2)[-1] for e in group))
    labels = "; ".join(e.action.label for e in group)
    return Seen(Action(f"{stream}|{base}|{keys}", when, labels), first.first, first.samples, title)


class _AccountNames:
    """The name of a deal's account (cached): words of it say who acted, not what they did."""

    def __init__(self, source: Source) -> None:
        info = stream_info(source, ENTITY_STREAMS[source]["account"])
        self._stream = ENTITY_STREAMS[source]["account"]
        self._get = make_getter(info, ("Name" if source == "salesforce" else "name",))
        self._names: dict[str, str] = {}

    def __call__(self, index: EntityIndex, opportunity: str) -> str:
        facts = index.opportunity(opportunity)
        if facts is None or not facts.account_id:
            return ""
        account = facts.account_id
        if account not in self._names:
            record = index.record(self._stream, account)
            self._names[account] = str(self._get(record) or "") if record else ""
        return self._names[account]


def _time(info: StreamInfo, record: dict[str, Any]) -> datetime | None:
    for name in info.time_fields:
        found = to_datetime(getter(info, name)(record))
        if found is not None:
            return found
    return None


def _mapped(hits: list[Hit], process: ProcessInfo, reach: np.ndarray) -> bool:
    """Whether an active rule (its `hits` on the record) makes this record a milestone of
    `process` the deal (its `reach` row) had not reached before the record's time."""
    for hit in hits:
        moment = epoch(hit.occurred_at)
        for target in hit.targets:
            if target.process_key != process.key:
                continue
            for milestone in process.milestones:
                if milestone.key == target.milestone_key and milestone.position < reach.shape[0]:
                    reached = reach[milestone.position]
                    if np.isnan(reached) or reached >= moment - 1.0:
                        return True
    return False


def _active(database: Database) -> list[tuple[ConnectionInfo, VersionRuntime, str]]:
    """Each connection with an active version: the version compiled, and its source text."""
    found = []
    with database.session() as session:
        active = active_versions(session)
        for row in session.scalars(select(Connection).order_by(Connection.id)):
            connection = connection_info(session, row)
            version = session.get(RulesetVersion, active.get(row.id, -1))
            if connection.source is None or version is None:
                continue
            try:
                runtime = version_runtime(session, version.id)
            except RulesetRejected:  # a version stored without its rule text: nothing to read
                continue
            found.append((connection, runtime, version.source))
    return found


def _records(
    db: DbConnection, connection: ConnectionInfo, source: Source
) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """The connection's stored records of the customer's activity streams, in batches in the
    order they were stored: one query, streamed (a server-side cursor on PostgreSQL), each
    payload parsed once."""
    streams = STREAMS[source]
    on_sqlite = db.dialect.name != "postgresql"
    mark = "?" if on_sqlite else "%s"
    payload = "payload" if on_sqlite else "payload::text"
    rows = db.exec_driver_sql(
        f"SELECT stream, external_id, {payload} FROM raw_records "
        # `+ 0`: walk the primary key; the connection_id indexes would sort every record first
        f"WHERE connection_id + 0 = {mark} AND stream IN ({', '.join([mark] * len(streams))}) "
        f"AND deleted = {mark} ORDER BY id",
        (connection.id, *streams, False),
        execution_options={"stream_results": True, "max_row_buffer": BATCH},
    )
    while batch := rows.fetchmany(BATCH):
        yield [
            (stream, external_id, orjson.loads(text) if isinstance(text, str | bytes) else text)
            for stream, external_id, text in batch
        ]


def _prefetch(
    fetcher: RawFetcher,
    source: Source,
    batch: list[tuple[str, str, dict[str, Any]]],
    customer: list[_Record],
    linked: set[str],
) -> None:
    """The records the customer's records of a batch link through (an email's task) into the
    fetcher: those the scan read itself (of the `linked` streams, learnt as it goes) as it
    read them, the others in a few queries, not one per record."""
    wanted = [key for r in customer for key in lookups(source, r.stream, r.payload)]
    linked.update(stream for stream, _ in wanted)
    for stream, external_id, payload in batch:
        if stream in linked:
            fetcher.keep(stream, external_id, payload)
    fetcher.prefetch(wanted)


@dataclass
class Scan:
    """What the scan found: descriptions by (process key, action key), records read, and the
    ruleset source text of each process."""

    snapshot: Snapshot
    rows: dict[tuple[str | None, str], int]
    seen: dict[tuple[str, str], Seen] = field(default_factory=dict)
    scanned: int = 0
    sources: dict[str, str] = field(default_factory=dict)

    def batch(
        self,
        connection: ConnectionInfo,
        engine: Engine,
        names: _AccountNames,
        fetcher: RawFetcher,
        batch: list[tuple[str, str, dict[str, Any]]],
        linked: set[str],
    ) -> None:
        """A batch of stored records: the customer's, before the data clock, attributed."""
        self.scanned += len(batch)
        source = engine.source
        customer: list[_Record] = []
        for stream, external_id, payload in batch:
            info = stream_info(source, stream)
            if info is None or customer_condition(info, payload) is None:
                continue
            at = _time(info, payload)
            if at is None or at > self.snapshot.as_of:
                continue
            customer.append(_Record(connection, engine, names, stream, external_id, payload, at))
        _prefetch(fetcher, source, batch, customer, linked)
        for record in customer:
            self._attribute(record)

    def _attribute(self, seen: _Record) -> None:
        """The record's deals (the engine's attribution, per process) that it tells about."""
        engine = seen.engine
        links = record_links(engine.source, seen.stream, seen.payload, engine.resolver)
        found = candidates(links, seen.at, Attribution().via, engine.resolver)
        if found is None:
            return
        for process_key in [p.key for p in engine.compiled.ruleset.processes]:
            for owner in choose(found, seen.at, process_key, Attribution(), engine.process_of):
                row = self.rows.get((seen.connection.name, owner))
                if row is not None:
                    self._deal(seen, row, owner, process_key)

    def _deal(self, seen: _Record, row: int, owner: str, process_key: str) -> None:
        cols = self.snapshot.columns
        process = self.snapshot.processes.get(int(cols.process[row]))
        if process is None or process.key != process_key:
            return
        if _mapped(seen.hits(), process, cols.reach[row]):
            return
        engine = seen.engine
        deal = self.snapshot.info.get(int(cols.key[row]))
        assert isinstance(engine.resolver, EntityIndex)
        known = set(words(f"{deal.name if deal else ''} {seen.names(engine.resolver, owner)}"))
        moment = epoch(seen.at)
        for action, word in seen.described():
            if word is not None and word in known:
                continue
            entry = self.seen.setdefault((process.key, action.key), Seen(action))
            if moment < entry.first.get(row, np.inf):
                entry.first[row] = moment
            if len(entry.samples) < SAMPLES and len(entry.first) > len(entry.samples):
                entry.samples.append(seen.evidence(owner, deal.name if deal else None))


@dataclass
class _Record:
    """One customer record being attributed: what every deal it belongs to shares, worked
    out once (the rules' hits, its descriptions)."""

    connection: ConnectionInfo
    engine: Engine
    names: _AccountNames
    stream: str
    external_id: str
    payload: dict[str, Any]
    at: datetime
    _hits: list[Hit] | None = None
    _described: list[tuple[Action, str | None]] | None = None

    def hits(self) -> list[Hit]:
        if self._hits is None:
            self._hits = self.engine.matches(self.stream, self.payload)
        return self._hits

    def described(self) -> list[tuple[Action, str | None]]:
        if self._described is None:
            self._described = described(self.engine.source, self.stream, self.payload)
        return self._described

    def evidence(self, owner: str, name: str | None) -> CandidateEvidence:
        source, stream, external_id = self.engine.source, self.stream, self.external_id
        info = stream_info(source, stream)
        assert info is not None
        return CandidateEvidence(
            occurred_at=self.at,
            opportunity=OpportunityRef(external_id=owner, name=name),
            evidence=EvidenceLink(
                connection=self.connection.name,
                stream=stream,
                external_id=external_id,
                url=deep_link(source, stream, external_id, self.connection.link_settings),
            ),
            text=str(getter(info, TEXT_FIELD[stream])(self.payload) or "")[:200],
        )


def unmapped_actions(
    database: Database,
    snapshot: Snapshot,
    mask: np.ndarray,
    progress: Callable[[int], None] | None = None,
) -> Scan:
    """Every customer-side record that no rule makes a milestone, per deal of the selection;
    `progress` is told the records read so far, after every batch."""
    cols = snapshot.columns
    row_of = {int(key): row for row, key in enumerate(cols.key)}
    rows: dict[tuple[str | None, str], int] = {}
    for key, deal in snapshot.info.items():
        row = row_of.get(int(key))
        if row is not None and mask[row]:
            rows[(deal.connection, deal.external_id)] = row
    scan = Scan(snapshot, rows)
    for connection, runtime, source_text in _active(database):
        source = connection.source
        assert source is not None
        for process in runtime.ruleset.processes:
            scan.sources.setdefault(process.key, source_text)
        with database.engine.connect() as db, db.begin():
            index, fetcher, _ = build_index(db, connection)
            engine = Engine(runtime.compiled, source, index)
            names = _AccountNames(source)
            linked: set[str] = set()
            for batch in _records(db, connection, source):
                scan.batch(connection, engine, names, fetcher, batch, linked)
                if progress is not None:
                    progress(scan.scanned)
    return scan
