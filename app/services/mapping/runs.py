"""Running a ruleset version over the raw layer: in full, or for what changed since last time.

Both runs write the same way: for each batch of records the engine derives the events they
prove, and the events already stored for those records are brought to exactly that set:
new ones inserted, vanished ones deleted (a record deleted or edited so that it no longer
matches withdraws its events), moved ones updated in place. Re-running is therefore
idempotent, and a full run over an active version never shows an empty or half-built state.

Every matched record also leaves `mapping_candidates` rows: the opportunities, contacts and
accounts it links to and the opportunities it was attributed to. An incremental run re-derives,
besides the changed records, every candidate linked to an opportunity, contact or account whose
record changed, so an opportunity created, closed, moved to another segment or deleted moves
the events that depend on it.

    report = derive_all(database, version_id, connection_id)       # on demand, on activation
    report = derive_changed(database, version_id, connection_id)   # after every sync
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection as DbConnection
from sqlalchemy import Select, Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from app.core.database import Database
from app.core.errors import NotFoundError
from app.models import (
    Connection,
    MappingCandidate,
    MappingCursor,
    MilestoneEvent,
    OpportunityProcess,
    RawRecord,
)
from app.models.base import utcnow
from app.services.jobs.locks import advisory_lock, mapping_lock_name
from app.services.mapping.index import (
    CachedIndex,
    IndexCache,
    RawFetcher,
    chunks,
    chunks_by_first,
    max_synced_at,
    opportunity_row_ids,
    project_opportunities,
    project_owners,
    scan_raw,
    sqlite_time,
    upsert,
)
from app.services.mapping.public import MappingRunSummary
from app.services.mapping.rulesets import (
    ConnectionInfo,
    VersionRuntime,
    connection_info,
    version_runtime,
)
from app.services.state.active import active_versions
from app.services.state.clock import as_utc
from app.services.state.opportunities import rebuild_states, refresh_states, refresh_teams
from mappings.catalog import deep_link
from mappings.engine import Derivation, DerivedEvent, Engine
from mappings.links import lookups, record_links
from mappings.resolver import EntityIndex

__all__ = ["LOOKBACK", "RunReport", "derive_active", "derive_all", "derive_changed"]

LOOKBACK = timedelta(seconds=60)
"""Incremental runs re-read records stored this long before the last run's high-water mark,
so a record stamped by a writer whose clock lags, or committed late, is never missed
(re-reading is idempotent)."""

BATCH = 5000
FULL_RUN_FROM = 20_000
"""An incremental run with more changed records than this (and over a quarter of all) runs in
full instead."""
_INDEXES = IndexCache()
_EVENTS = cast(Table, MilestoneEvent.__table__)

_EVENT_COLUMNS = (
    "ruleset_version_id",
    "opportunity_id",
    "milestone_id",
    "occurred_at",
    "rule_key",
    "evidence_connection_id",
    "evidence_stream",
    "evidence_external_id",
    "evidence_url",
    "created_at",
    "attributed_from",
)
_EVENT_TIMES = frozenset({"occurred_at", "created_at", "attributed_from"})
_CANDIDATE_COLUMNS = (
    "ruleset_version_id",
    "connection_id",
    "link_kind",
    "link_id",
    "stream",
    "external_id",
)


EventKey = tuple[int, int, str, str, str]
Stored = tuple[int, datetime, datetime | None]
"""A stored event: its id, when the customer acted, from when its attribution holds."""
"""(opportunity id, milestone id, evidence stream, evidence external id, rule key)"""


@dataclass
class RunReport:
    ruleset_version_id: int
    connection_id: int
    full: bool
    records_read: int = 0
    records_matched: int = 0
    events_added: int = 0
    events_removed: int = 0
    events_moved: int = 0
    opportunities: int = 0
    seconds: float = 0.0
    touched: set[int] = field(default_factory=set)
    """Opportunity ids whose events changed: what opportunity state must look at again."""

    def summary(self) -> MappingRunSummary:
        return MappingRunSummary(
            ruleset_version_id=self.ruleset_version_id,
            connection_id=self.connection_id,
            full=self.full,
            records_read=self.records_read,
            records_matched=self.records_matched,
            events_added=self.events_added,
            events_removed=self.events_removed,
            events_moved=self.events_moved,
            opportunities=self.opportunities,
            opportunities_touched=len(self.touched),
            seconds=round(self.seconds, 3),
        )


def _exclusive(
    db: DbConnection, version_id: int, connection_id: int
) -> AbstractContextManager[None]:
    """One run per (version, connection) at a time across processes."""
    return advisory_lock(
        db,
        mapping_lock_name(version_id, connection_id),
        f"a mapping run for connection {connection_id} and ruleset version {version_id} "
        "is already in progress",
    )


def _connection(db: DbConnection, connection_id: int) -> tuple[ConnectionInfo, datetime]:
    with Session(bind=db) as session:
        row = session.get(Connection, connection_id)
        if row is None:
            raise NotFoundError(f"no connection with id {connection_id}")
        return connection_info(session, row), row.created_at


def _runtime(db: DbConnection, version_id: int) -> VersionRuntime:
    with Session(bind=db) as session:
        return version_runtime(session, version_id)


class _Writer:
    """Brings the stored events and candidates of a set of records to what the engine derived."""

    def __init__(
        self,
        db: DbConnection,
        runtime: VersionRuntime,
        connection: ConnectionInfo,
        report: RunReport,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.connection = connection
        self.report = report
        self.opportunity_ids: dict[str, int] = {}

    def existing(
        self, records: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[EventKey, Stored]]:
        found: dict[tuple[str, str], dict[EventKey, Stored]] = {}
        table = MilestoneEvent
        query = _existing_query(self.runtime.version_id, self.connection.id)
        for stream, ids in chunks_by_first(records):
            rows = self.db.execute(
                query.where(table.evidence_stream == stream, table.evidence_external_id.in_(ids))
            )
            _collect_existing(rows, found)
        return found

    def apply(
        self,
        derived: Sequence[tuple[str, str, Derivation]],
        existing: dict[tuple[str, str], dict[EventKey, Stored]],
        *,
        replace_candidates: bool = True,
    ) -> set[int]:
        """Write; returns the ids of the opportunities whose events changed."""
        runtime, connection = self.runtime, self.connection
        touched: set[int] = set()
        inserts: list[dict[str, Any]] = []
        deletes: list[int] = []
        moves: list[dict[str, Any]] = []
        candidates: list[dict[str, Any]] = []
        missing = {
            e.opportunity_id
            for _, _, d in derived
            for e in d.events
            if e.opportunity_id not in self.opportunity_ids
        }
        if missing:
            self.opportunity_ids.update(opportunity_row_ids(self.db, connection.id, missing))
        for stream, external_id, derivation in derived:
            stored = existing.pop((stream, external_id), {})
            if derivation.matched:
                self.report.records_matched += 1
                candidates.extend(self._candidates(stream, external_id, derivation))
            wanted: dict[EventKey, DerivedEvent] = {}
            for event in derivation.events:
                opportunity_id = self.opportunity_ids.get(event.opportunity_id)
                milestone_id = runtime.milestone_ids.get((event.process_key, event.milestone_key))
                if opportunity_id is None or milestone_id is None:
                    continue
                key = (opportunity_id, milestone_id, stream, external_id, event.rule_key)
                if key not in wanted or event.occurred_at < wanted[key].occurred_at:
                    wanted[key] = event
            for key, (event_id, occurred_at, attributed_from) in stored.items():
                if key not in wanted:
                    deletes.append(event_id)
                    touched.add(key[0])
                elif (wanted[key].occurred_at, wanted[key].attributed_from) != (
                    occurred_at,
                    attributed_from,
                ):
                    moves.append(
                        {
                            "event_id": event_id,
                            "occurred_at": wanted[key].occurred_at,
                            "attributed_from": wanted[key].attributed_from,
                        }
                    )
                    touched.add(key[0])
            for key, event in wanted.items():
                if key in stored:
                    continue
                inserts.append(
                    {
                        "ruleset_version_id": runtime.version_id,
                        "opportunity_id": key[0],
                        "milestone_id": key[1],
                        "occurred_at": event.occurred_at,
                        "rule_key": event.rule_key,
                        "evidence_connection_id": connection.id,
                        "evidence_stream": stream,
                        "evidence_external_id": external_id,
                        "evidence_url": deep_link(
                            connection.source or "salesforce",
                            stream,
                            external_id,
                            connection.link_settings,
                        ),
                        "created_at": utcnow(),
                        "attributed_from": event.attributed_from,
                    }
                )
                touched.add(key[0])
        if replace_candidates:
            self._clear_candidates([(s, i) for s, i, _ in derived])
        self._write(inserts, deletes, moves, candidates)
        self.report.touched |= touched
        return touched

    def _candidates(
        self, stream: str, external_id: str, derivation: Derivation
    ) -> list[dict[str, Any]]:
        pairs = derivation.links.all_ids()
        pairs += [("opportunity", e.opportunity_id) for e in derivation.events]
        return [
            {
                "ruleset_version_id": self.runtime.version_id,
                "connection_id": self.connection.id,
                "link_kind": kind,
                "link_id": link_id[:64],
                "stream": stream,
                "external_id": external_id,
            }
            for kind, link_id in dict.fromkeys(pairs)
        ]

    def _clear_candidates(self, records: Sequence[tuple[str, str]]) -> None:
        table = MappingCandidate
        for stream, ids in chunks_by_first(records):
            self.db.execute(
                delete(table).where(
                    table.ruleset_version_id == self.runtime.version_id,
                    table.connection_id == self.connection.id,
                    table.stream == stream,
                    table.external_id.in_(ids),
                )
            )

    def _write(
        self,
        inserts: list[dict[str, Any]],
        deletes: list[int],
        moves: list[dict[str, Any]],
        candidates: list[dict[str, Any]],
    ) -> None:
        events = _EVENTS
        for ids in chunks(deletes):
            self.db.execute(delete(events).where(events.c.id.in_(ids)))
        if moves:
            self.db.execute(
                update(events)
                .where(events.c.id == bindparam("event_id"))
                .values(occurred_at=bindparam("new_time"), attributed_from=bindparam("new_from")),
                [
                    {
                        "event_id": m["event_id"],
                        "new_time": m["occurred_at"],
                        "new_from": m["attributed_from"],
                    }
                    for m in moves
                ],
            )
        if inserts:
            self._insert_events(inserts)
        if candidates:
            mark = self._mark
            self.db.exec_driver_sql(
                f"INSERT INTO mapping_candidates ({', '.join(_CANDIDATE_COLUMNS)}) "
                f"VALUES ({', '.join([mark] * len(_CANDIDATE_COLUMNS))}) ON CONFLICT DO NOTHING",
                [tuple(c[name] for name in _CANDIDATE_COLUMNS) for c in candidates],
            )
        self.report.events_added += len(inserts)
        self.report.events_removed += len(deletes)
        self.report.events_moved += len(moves)

    @property
    def _mark(self) -> str:
        return "%s" if self.db.dialect.name == "postgresql" else "?"

    def _insert_events(self, inserts: list[dict[str, Any]]) -> None:
        """Straight to the driver's executemany: the hottest write of a full run."""
        on_sqlite = self.db.dialect.name == "sqlite"

        def stamp(value: datetime | None) -> Any:
            return sqlite_time(value) if on_sqlite and value is not None else value

        rows = [
            tuple(
                stamp(row[name]) if name in _EVENT_TIMES else row[name] for name in _EVENT_COLUMNS
            )
            for row in inserts
        ]
        self.db.exec_driver_sql(
            f"INSERT INTO milestone_events ({', '.join(_EVENT_COLUMNS)}) "
            f"VALUES ({', '.join([self._mark] * len(_EVENT_COLUMNS))})",
            rows,
        )

    def processes(self, engine: Engine, external_ids: Iterable[str]) -> None:
        """Record which process each of these opportunities belongs to in this version."""
        wanted = sorted(set(external_ids))
        if not wanted:
            return
        row_ids = {k: self.opportunity_ids[k] for k in wanted if k in self.opportunity_ids}
        absent = [k for k in wanted if k not in row_ids]
        if absent:
            fetched = opportunity_row_ids(self.db, self.connection.id, absent)
            self.opportunity_ids.update(fetched)
            row_ids.update(fetched)
        rows: list[dict[str, Any]] = []
        unassigned: list[int] = []
        for external_id, row_id in row_ids.items():
            # a deleted opportunity keeps its process: the view of a time before it holds it
            facts = engine.resolver.opportunity(external_id)
            key = engine.process_of(external_id) if facts else None
            process_id = self.runtime.process_ids.get(key) if key else None
            if process_id is None:
                unassigned.append(row_id)
            else:
                rows.append(
                    {
                        "ruleset_version_id": self.runtime.version_id,
                        "opportunity_id": row_id,
                        "process_id": process_id,
                    }
                )
        table = OpportunityProcess
        for ids in chunks(unassigned):
            self.db.execute(
                delete(table).where(
                    table.ruleset_version_id == self.runtime.version_id,
                    table.opportunity_id.in_(ids),
                )
            )
        upsert(
            self.db,
            OpportunityProcess.__table__,  # type: ignore[arg-type]
            rows,
            ("ruleset_version_id", "opportunity_id"),
            ("process_id",),
        )


def _derive(
    engine: Engine, fetcher: RawFetcher, rows: Iterable[Any]
) -> list[tuple[str, str, Derivation]]:
    """Derive a batch: match everything, fetch what the matched records link through in bulk,
    then attribute."""
    matches = engine.matches
    source = engine.source
    matched = []
    wanted: list[tuple[str, str]] = []
    for stream, external_id, deleted, payload in rows:
        hits = matches(stream, payload)
        if hits and not deleted:
            wanted.extend(lookups(source, stream, payload))
        matched.append((stream, external_id, deleted, payload, hits))
    fetcher.prefetch(wanted)
    derive = engine.derive
    return [
        (stream, external_id, derive(stream, external_id, payload, deleted, hits))
        for stream, external_id, deleted, payload, hits in matched
    ]


def _save_cursor(
    db: DbConnection, version_id: int, connection_id: int, synced_through: datetime | None
) -> None:
    upsert(
        db,
        MappingCursor.__table__,  # type: ignore[arg-type]
        [
            {
                "ruleset_version_id": version_id,
                "connection_id": connection_id,
                "synced_through": synced_through,
                "updated_at": utcnow(),
            }
        ],
        ("ruleset_version_id", "connection_id"),
        ("synced_through", "updated_at"),
    )


def _applies(runtime: VersionRuntime, connection: ConnectionInfo) -> bool:
    return connection.source is not None and connection.source in runtime.sources()


def derive_all(
    database: Database, version_id: int, connection_id: int, batch: int = BATCH
) -> RunReport:
    """Derive every event of this version for this connection from all stored records."""
    started = time.perf_counter()
    report = RunReport(version_id, connection_id, full=True)
    with database.engine.connect() as db, _exclusive(db, version_id, connection_id):
        with db.begin():
            runtime = _runtime(db, version_id)
            connection, created_at = _connection(db, connection_id)
            high = max_synced_at(db, connection_id)
        if not _applies(runtime, connection):
            with db.begin():
                _save_cursor(db, version_id, connection_id, high)
            report.seconds = time.perf_counter() - started
            return report
        entry = _INDEXES.entry(db, connection, created_at)
        with entry.lock:
            _full(db, runtime, connection, entry, high, report, batch)
    report.seconds = time.perf_counter() - started
    return report


def _full(
    db: DbConnection,
    runtime: VersionRuntime,
    connection: ConnectionInfo,
    entry: CachedIndex,
    high: datetime | None,
    report: RunReport,
    batch: int,
) -> None:
    version_id, connection_id = runtime.version_id, connection.id
    writer = _Writer(db, runtime, connection, report)
    with db.begin():
        _INDEXES.refresh(entry, db, connection)
        index, fetcher = entry.index, entry.fetcher
        project_owners(db, connection)
        report.opportunities = _project_all(db, connection_id, index)
        writer.opportunity_ids = opportunity_row_ids(db, connection_id)
        engine = Engine(runtime.compiled, index.source, index)
        writer.processes(engine, index.opportunity_ids())
        existing = _all_existing(db, version_id, connection_id)
        db.execute(
            delete(MappingCandidate).where(
                MappingCandidate.ruleset_version_id == version_id,
                MappingCandidate.connection_id == connection_id,
            )
        )
    last_id = 0
    while True:
        with db.begin():
            fetcher.db = db
            rows = scan_raw(db, connection_id, runtime.compiled, index.source, last_id, batch)
            if not rows:
                break
            last_id = rows[-1][0]
            report.records_read += len(rows)
            derived = _derive(engine, fetcher, (row[1:] for row in rows))
            writer.apply(derived, existing, replace_candidates=False)
    with db.begin():
        leftovers = [kept[0] for stored in existing.values() for kept in stored.values()]
        writer._write([], leftovers, [], [])
        rebuild_states(db, version_id, connection_id)
        _save_cursor(db, version_id, connection_id, high)


def _project_all(db: DbConnection, connection_id: int, index: EntityIndex) -> int:
    facts = [index.opportunity(external_id) for external_id in index.opportunity_ids()]
    return project_opportunities(db, connection_id, [f for f in facts if f is not None])


def _all_existing(
    db: DbConnection, version_id: int, connection_id: int
) -> dict[tuple[str, str], dict[EventKey, Stored]]:
    found: dict[tuple[str, str], dict[EventKey, Stored]] = {}
    _collect_existing(db.execute(_existing_query(version_id, connection_id)), found)
    return found


def _existing_query(version_id: int, connection_id: int) -> Select[tuple[Any, ...]]:
    """The events a version derived from a connection's records, as `_collect_existing` reads."""
    table = MilestoneEvent
    return select(
        table.id,
        table.opportunity_id,
        table.milestone_id,
        table.evidence_stream,
        table.evidence_external_id,
        table.rule_key,
        table.occurred_at,
        table.attributed_from,
    ).where(
        table.ruleset_version_id == version_id,
        table.evidence_connection_id == connection_id,
    )


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def _collect_existing(
    rows: Iterable[Any], found: dict[tuple[str, str], dict[EventKey, Stored]]
) -> None:
    """Each event under its evidence record, `Stored`, by its `EventKey`."""
    for row in rows:
        key = (row[1], row[2], row[3], row[4], row[5])
        found.setdefault((row[3], row[4]), {})[key] = (row[0], as_utc(row[6]), _utc(row[7]))


def _affected(
    index: EntityIndex, source_rows: Iterable[tuple[str, str, bool, Any]]
) -> tuple[set[tuple[str, str]], set[str]]:
    """Links whose candidates must be re-derived, and opportunities whose process may change."""
    links: set[tuple[str, str]] = set()
    opportunities: set[str] = set()
    source = index.source
    for stream, external_id, _deleted, payload in source_rows:
        if stream == index.account_stream:
            links.add(("account", external_id))
            opportunities.update(index.account_opportunities(external_id))
        elif stream == index.contact_stream:
            links.add(("contact", external_id))
            links.update(("account", a) for a in index.contact_accounts(external_id))
        elif index.handles(stream):  # the opportunity itself, or a contact role
            if stream == index.opportunity_stream:
                opportunities.add(external_id)
                links.add(("opportunity", external_id))
            found = record_links(source, stream, payload, index)
            links.update(("opportunity", o) for o in found.opportunities)
            links.update(("account", a) for a in found.accounts)
            links.update(("contact", c) for c in found.contacts)
    return links, opportunities


def _candidate_records(
    db: DbConnection, version_id: int, connection_id: int, links: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    table = MappingCandidate
    found: set[tuple[str, str]] = set()
    for kind, ids in chunks_by_first(sorted(links)):
        rows = db.execute(
            select(table.stream, table.external_id)
            .where(
                table.ruleset_version_id == version_id,
                table.connection_id == connection_id,
                table.link_kind == kind,
                table.link_id.in_(ids),
            )
            .distinct()
        )
        found.update((row[0], row[1]) for row in rows)
    return found


def _raw_rows(
    db: DbConnection, connection_id: int, records: Sequence[tuple[str, str]]
) -> list[tuple[str, str, bool, Any]]:
    rows: list[tuple[str, str, bool, Any]] = []
    for stream, ids in chunks_by_first(records):
        rows.extend(
            (r[0], r[1], r[2], r[3])
            for r in db.execute(
                select(
                    RawRecord.stream,
                    RawRecord.external_id,
                    RawRecord.deleted,
                    RawRecord.payload,
                ).where(
                    RawRecord.connection_id == connection_id,
                    RawRecord.stream == stream,
                    RawRecord.external_id.in_(ids),
                )
            )
        )
    return rows


def derive_changed(
    database: Database,
    version_id: int,
    connection_id: int,
    lookback: timedelta = LOOKBACK,
    batch: int = BATCH,
) -> RunReport:
    """Derive again only what records stored since the last run can have changed.

    Without a previous run for this version and connection, or when more than a quarter of
    the connection's records changed (a large first sync), this is `derive_all`, which is
    cheaper per record and just as safe.
    """
    started = time.perf_counter()
    with database.engine.connect() as db, db.begin():
        cursor = db.execute(
            select(MappingCursor.synced_through).where(
                MappingCursor.ruleset_version_id == version_id,
                MappingCursor.connection_id == connection_id,
            )
        ).first()
        since: datetime | None = cursor[0] - lookback if cursor and cursor[0] else None
        if since is not None:
            changed = db.execute(
                select(func.count()).where(
                    RawRecord.connection_id == connection_id, RawRecord.synced_at > since
                )
            ).scalar_one()
            stored = (
                db.execute(
                    select(func.count()).where(RawRecord.connection_id + 0 == connection_id)
                ).scalar_one()
                if changed > FULL_RUN_FROM
                else 0
            )
            if changed > FULL_RUN_FROM and changed * 4 > stored:
                since = None
    if since is None:
        return derive_all(database, version_id, connection_id, batch)
    report = RunReport(version_id, connection_id, full=False)
    with database.engine.connect() as db, _exclusive(db, version_id, connection_id):
        with db.begin():
            runtime = _runtime(db, version_id)
            connection, created_at = _connection(db, connection_id)
            high = max_synced_at(db, connection_id)
        if not _applies(runtime, connection):
            with db.begin():
                _save_cursor(db, version_id, connection_id, high)
            return report
        entry = _INDEXES.entry(db, connection, created_at)
        with entry.lock:
            with db.begin():
                _INDEXES.refresh(entry, db, connection)
            _incremental(db, runtime, connection, entry.index, entry.fetcher, since, report, batch)
            with db.begin():
                _save_cursor(db, version_id, connection_id, high)
    report.seconds = time.perf_counter() - started
    return report


def _incremental(
    db: DbConnection,
    runtime: VersionRuntime,
    connection: ConnectionInfo,
    index: EntityIndex,
    fetcher: RawFetcher,
    since: datetime,
    report: RunReport,
    batch: int,
) -> None:
    engine = Engine(runtime.compiled, index.source, index)
    writer = _Writer(db, runtime, connection, report)
    position: tuple[datetime, int] | None = None
    with db.begin():
        if project_owners(db, connection, since):
            refresh_teams(db, connection.id)  # a rep who moved team moves their deals' state
    while True:
        with db.begin():
            fetcher.db = db
            query = select(
                RawRecord.synced_at,
                RawRecord.id,
                RawRecord.stream,
                RawRecord.external_id,
                RawRecord.deleted,
                RawRecord.payload,
                RawRecord.modified_at,
            ).where(RawRecord.connection_id == connection.id, RawRecord.synced_at > since)
            if position is not None:
                after, last_id = position
                query = query.where(
                    (RawRecord.synced_at > after)
                    | ((RawRecord.synced_at == after) & (RawRecord.id > last_id))
                )
            rows = db.execute(query.order_by(RawRecord.synced_at, RawRecord.id).limit(batch)).all()
            if not rows:
                return
            position = (rows[-1][0], rows[-1][1])
            report.records_read += len(rows)
            changed = [(r[2], r[3], r[4], r[5]) for r in rows]
            fetcher.forget((r[0], r[1]) for r in changed)
            entities = [r for r in changed if index.handles(r[0])]
            deleted_at = {(r[2], r[3]): as_utc(r[6]) for r in rows if r[4]}
            for stream, external_id, deleted, payload in entities:
                index.add(
                    stream,
                    external_id,
                    payload,
                    deleted,
                    modified_at=deleted_at.get((stream, external_id)),
                )
            links, opportunities = _affected(index, entities)
            engine.forget(opportunities)
            facts = [index.opportunity(o) for o in opportunities]
            report.opportunities += project_opportunities(
                db, connection.id, [f for f in facts if f is not None]
            )
            writer.processes(engine, opportunities)
            ruled = runtime.compiled.streams.get(index.source, set())
            candidates = [r for r in changed if r[0] in ruled]
            keys = {(r[0], r[1]) for r in candidates}
            linked = _candidate_records(db, runtime.version_id, connection.id, links) - keys
            rows_to_derive = candidates + _raw_rows(db, connection.id, sorted(linked))
            derived = _derive(engine, fetcher, rows_to_derive)
            existing = writer.existing((s, i) for s, i, _ in derived)
            touched = writer.apply(derived, existing)
            touched.update(
                writer.opportunity_ids[o] for o in opportunities if o in writer.opportunity_ids
            )
            refresh_states(db, runtime.version_id, connection.id, touched)


def derive_active(
    database: Database, connection_id: int | None = None, full: bool = False
) -> list[RunReport]:
    """Run each connection's active version over it (one connection, or every one that has
    an active version): incrementally, or in full."""
    with database.session() as session:
        active = active_versions(session)
    if connection_id is not None:
        active = {connection_id: active[connection_id]} if connection_id in active else {}
    run = derive_all if full else derive_changed
    return [run(database, version_id, cid) for cid, version_id in active.items()]
