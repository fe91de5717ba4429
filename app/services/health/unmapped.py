"""Which customer actions in the stored records no milestone is made of: every record of a
customer-side activity stream (`actions.STREAMS`; the catalog's customer and seller facets, as
the validator's guard reads them), attributed to its opportunities by the engine's own
attribution, that no active rule makes the evidence of a milestone the deal had not reached
before it (a record that only repeats a milestone already reached, like a later email under a
catch-all "replied" rule, carries information no milestone uses). Each is described in the ways
a rule could select it (`actions.record_actions`), per process, with when each deal first
showed it and a few evidence records.

    found = unmapped_actions(database, snapshot, mask)
    for (process, key), seen in found.seen.items(): seen.first   # row -> epoch seconds
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection as DbConnection
from sqlalchemy import select

from app.core.database import Database
from app.kpis.columns import epoch
from app.models import Connection, RawRecord, RulesetVersion
from app.services.health.actions import (
    NAMED,
    STREAMS,
    TEXT_FIELD,
    Action,
    customer_condition,
    record_actions,
    words,
)
from app.services.health.public import CandidateEvidence
from app.services.kpis.snapshot import ProcessInfo, Snapshot
from app.services.mapping.index import build_index
from app.services.mapping.preview_report import EvidenceLink, OpportunityRef
from app.services.mapping.rulesets import (
    ConnectionInfo,
    RulesetRejected,
    VersionRuntime,
    connection_info,
    version_runtime,
)
from app.services.state.active import active_versions
from mappings.attribution import attribute
from mappings.catalog import Source, deep_link, stream_info
from mappings.compiler import make_getter
from mappings.engine import Engine
from mappings.links import ENTITY_STREAMS, record_links
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


def _time(info: Any, record: dict[str, Any]) -> datetime | None:
    for name in info.time_fields:
        found = to_datetime(make_getter(info, (name,))(record))
        if found is not None:
            return found
    return None


def _mapped(
    engine: Engine, stream: str, record: dict[str, Any], process: ProcessInfo, reach: np.ndarray
) -> bool:
    """Whether an active rule makes this record a milestone of `process` the deal (its
    `reach` row) had not reached before the record's time."""
    for hit in engine.matches(stream, record):
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
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The connection's stored records of the customer's activity streams, by id."""
    last = 0
    while True:
        batch = db.execute(
            select(RawRecord.id, RawRecord.stream, RawRecord.external_id, RawRecord.payload)
            .where(
                RawRecord.connection_id == connection.id,
                RawRecord.stream.in_(STREAMS[source]),
                RawRecord.deleted.is_(False),
                RawRecord.id > last,
            )
            .order_by(RawRecord.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1][0]
        for _, stream, external_id, payload in batch:
            yield stream, external_id, payload


@dataclass
class Scan:
    """What the scan found: descriptions by (process key, action key), records read, and the
    ruleset source text of each process."""

    snapshot: Snapshot
    rows: dict[tuple[str | None, str], int]
    seen: dict[tuple[str, str], Seen] = field(default_factory=dict)
    scanned: int = 0
    sources: dict[str, str] = field(default_factory=dict)

    def record(
        self,
        connection: ConnectionInfo,
        engine: Engine,
        names: _AccountNames,
        stream: str,
        external_id: str,
        payload: dict[str, Any],
    ) -> None:
        self.scanned += 1
        source = engine.source
        stream_of = stream_info(source, stream)
        if stream_of is None or customer_condition(stream_of, payload) is None:
            return
        at = _time(stream_of, payload)
        if at is None or at > self.snapshot.as_of:
            return
        links = record_links(source, stream, payload, engine.resolver)
        for process_key in [p.key for p in engine.compiled.ruleset.processes]:
            owners = attribute(
                links, at, process_key, Attribution(), engine.resolver, engine.process_of
            )
            for owner in owners:
                row = self.rows.get((connection.name, owner))
                if row is not None:
                    self._deal(connection, engine, names, row, owner, stream, external_id,
                               payload, at, process_key)  # fmt: skip

    def _deal(
        self,
        connection: ConnectionInfo,
        engine: Engine,
        names: _AccountNames,
        row: int,
        owner: str,
        stream: str,
        external_id: str,
        payload: dict[str, Any],
        at: datetime,
        process_key: str,
    ) -> None:
        cols = self.snapshot.columns
        process = self.snapshot.processes.get(int(cols.process[row]))
        if process is None or process.key != process_key:
            return
        if _mapped(engine, stream, payload, process, cols.reach[row]):
            return
        deal = self.snapshot.info.get(int(cols.key[row]))
        assert isinstance(engine.resolver, EntityIndex)
        known = f"{deal.name if deal else ''} {names(engine.resolver, owner)}"
        moment = epoch(at)
        for action in record_actions(engine.source, stream, payload, known):
            entry = self.seen.setdefault((process.key, action.key), Seen(action))
            if moment < entry.first.get(row, np.inf):
                entry.first[row] = moment
            if len(entry.samples) < SAMPLES and len(entry.first) > len(entry.samples):
                title = make_getter(stream_info(engine.source, stream), (TEXT_FIELD[stream],))
                entry.samples.append(
                    CandidateEvidence(
                        occurred_at=at,
                        opportunity=OpportunityRef(
                            external_id=owner, name=deal.name if deal else None
                        ),
                        evidence=EvidenceLink(
                            connection=connection.name,
                            stream=stream,
                            external_id=external_id,
                            url=deep_link(
                                engine.source, stream, external_id, connection.link_settings
                            ),
                        ),
                        text=str(title(payload) or "")[:200],
                    )
                )


def unmapped_actions(database: Database, snapshot: Snapshot, mask: np.ndarray) -> Scan:
    """Every customer-side record that no rule makes a milestone, per deal of the selection."""
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
            index, _, _ = build_index(db, connection)
            engine = Engine(runtime.compiled, source, index)
            names = _AccountNames(source)
            for stream, external_id, payload in _records(db, connection, source):
                scan.record(connection, engine, names, stream, external_id, payload)
    return scan
