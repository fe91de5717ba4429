"""The engine's view of one connection's raw layer, and the CRM entities it projects.

`build_index` fills the engine's `EntityIndex` (opportunities, accounts, contacts and the
links between them) from the stored entity streams and gives it a fetch for any other record
(an email's task). `IndexCache` keeps an index between incremental runs and refreshes it from
the records stored since. `project_owners` and `project_opportunities` keep the `crm_owners`
and `opportunities` tables equal to what the CRM's own records say: outcome, amount, stage,
close date and owner come from the opportunity or deal itself.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection as DbConnection
from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core.caching import BoundedCache
from app.models import CrmOwner, Opportunity, RawRecord
from app.models.base import utcnow
from app.services.mapping.rulesets import ConnectionInfo
from app.services.state.clock import as_utc
from mappings.catalog import HUBSPOT, Source
from mappings.compiler import CompiledRuleset
from mappings.opportunities import OpportunityFacts
from mappings.resolver import ENTITY_STREAM_NAMES, EntityIndex
from mappings.values import to_bool

__all__ = [
    "CachedIndex",
    "IndexCache",
    "RawFetcher",
    "build_index",
    "chunks",
    "chunks_by_first",
    "opportunity_row_ids",
    "project_opportunities",
    "project_owners",
    "scan_raw",
    "upsert",
]

Record = Mapping[str, Any]
OWNER_STREAMS: dict[Source, str] = {"salesforce": "User", "hubspot": "owners"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OVERLAP = timedelta(seconds=60)
IN_CHUNK = 500
INDEXES_KEPT = 64
"""Connections whose entity index a process keeps between runs (the least recently run go)."""
"""Ids per `IN (...)` of one statement."""
_T = TypeVar("_T")


def chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """`values` in slices small enough for one `IN (...)`."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def chunks_by_first(pairs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, Sequence[str]]]:
    """The second items grouped by the first (in order of first appearance), in `chunks`."""
    grouped: dict[str, list[str]] = {}
    for first, second in pairs:
        grouped.setdefault(first, []).append(second)
    for first, seconds in grouped.items():
        for chunk in chunks(seconds):
            yield first, chunk


class RawFetcher:
    """Reads single stored records for the engine, with a cache; bound to a DB per run.

    `prefetch` loads many at once (one query per stream and 500 ids) before a batch is derived.
    """

    def __init__(self, connection_id: int, size: int = 10_000) -> None:
        self.connection_id = connection_id
        self.db: DbConnection | None = None
        self._cache = BoundedCache[tuple[str, str], Record | None](
            "stored records the rules look up (an email's task): one query per batch",
            size=size,
        )

    def _sql(self, count: int) -> str:
        assert self.db is not None, "RawFetcher used outside a run"
        mark = "%s" if self.db.dialect.name == "postgresql" else "?"
        return (
            "SELECT stream, external_id, payload, deleted FROM raw_records "
            f"WHERE connection_id = {mark} AND stream = {mark} "
            f"AND external_id IN ({', '.join([mark] * count)})"
        )

    def _load(self, stream: str, ids: Sequence[str]) -> None:
        assert self.db is not None
        found: dict[str, Record | None] = dict.fromkeys(ids)
        rows = self.db.exec_driver_sql(self._sql(len(ids)), (self.connection_id, stream, *ids))
        for _, external_id, payload, deleted in rows:
            if not deleted:
                found[external_id] = orjson.loads(payload) if isinstance(payload, str) else payload
        for external_id, record in found.items():
            self._cache.put((stream, external_id), record)

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        missing = dict.fromkeys(key for key in keys if key not in self._cache)
        for stream, ids in chunks_by_first(missing):
            self._load(stream, ids)

    def __call__(self, stream: str, external_id: str) -> Record | None:
        key = (stream, external_id)
        if key not in self._cache:
            self._load(stream, [external_id])
        return self._cache.get(key)

    def keep(self, stream: str, external_id: str, record: Record | None) -> None:
        """A stored record the caller has just read (a scan's), so that it is not read again."""
        self._cache.put((stream, external_id), record)

    def forget(self, keys: Iterable[tuple[str, str]]) -> None:
        for key in keys:
            self._cache.discard(key)


_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def scan_raw(
    db: DbConnection,
    connection_id: int,
    compiled: CompiledRuleset,
    source: Source,
    after_id: int,
    limit: int,
) -> list[tuple[int, str, str, bool, Record]]:
    """The next `limit` stored records (by id, after `after_id`) that some rule could match.

    Walks the primary key and reads only the streams that have rules; where every rule of a
    stream needs one field to hold one of a few values (an email's direction, a task's subtype),
    the database tests that field (`json_extract` / `#>>`) so other records are never loaded.
    Returns (id, stream, external id, deleted, payload).
    """
    streams = sorted(compiled.streams.get(source, ()))
    if not streams:
        return []
    on_sqlite = db.dialect.name == "sqlite"
    mark = "?" if on_sqlite else "%s"
    clauses: list[str] = []
    params: list[Any] = [connection_id, after_id]
    for stream in streams:
        found = compiled.scan_filter(source, stream)
        if found is None or not all(_SAFE_NAME.match(part) for part in found[0]):
            clauses.append(f"stream = {mark}")
            params.append(stream)
            continue
        path, values = found
        wanted: list[Any] = list(values)
        where: Any
        if on_sqlite:  # json_extract gives JSON true / false as 1 / 0
            wanted += [int(v.lower() == "true") for v in values if v.lower() in ("true", "false")]
            extract, where = f"json_extract(payload, {mark})", "$." + ".".join(path)
        else:
            extract, where = f"(payload #>> {mark})", list(path)
        wanted = list(dict.fromkeys(wanted))
        clauses.append(f"(stream = {mark} AND {extract} IN ({', '.join([mark] * len(wanted))}))")
        params += [stream, where, *wanted]
    params.append(limit)
    sql = (
        "SELECT id, stream, external_id, deleted, payload FROM raw_records "
        # `+ 0`: walk the primary key; the connection_id indexes would sort every batch.
        f"WHERE connection_id + 0 = {mark} AND id > {mark} AND ({' OR '.join(clauses)}) "
        f"ORDER BY id LIMIT {mark}"
    )
    return [
        (
            row[0],
            row[1],
            row[2],
            bool(row[3]),
            orjson.loads(row[4]) if isinstance(row[4], str | bytes) else row[4],
        )
        for row in db.exec_driver_sql(sql, tuple(params))
    ]


def _instant(value: datetime | str | None) -> datetime | None:
    """A stored instant read straight from the driver (SQLite: text in UTC) as an aware one."""
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def sqlite_time(value: datetime) -> str:
    """How SQLAlchemy's UTC datetime type stores an instant on SQLite (for driver-level SQL)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _load_entities(
    db: DbConnection,
    connection_id: int,
    index: EntityIndex,
    since: datetime | None = None,
    fetcher: RawFetcher | None = None,
) -> int:
    """The connection's entity records (stored after `since`) into the index, straight from
    the driver; returns how many."""
    streams = sorted(ENTITY_STREAM_NAMES[index.source])
    on_sqlite = db.dialect.name != "postgresql"
    mark = "?" if on_sqlite else "%s"
    params: list[Any] = [connection_id, *streams]
    after = ""
    if since is not None:
        after = f"AND synced_at > {mark} "
        params.append(sqlite_time(since) if on_sqlite else since)
    # Streamed (a server-side cursor on PostgreSQL) and as JSON text, which the index keeps
    # as its raw bytes: the driver neither holds every entity at once nor parses each payload
    # into objects the index would serialise again.
    payload = "payload" if on_sqlite else "payload::text"
    rows = db.exec_driver_sql(
        f"SELECT stream, external_id, deleted, {payload}, modified_at FROM raw_records "
        f"WHERE connection_id = {mark} AND stream IN ({', '.join([mark] * len(streams))}) "
        f"{after}ORDER BY id",
        tuple(params),
        execution_options={"stream_results": True, "max_row_buffer": 5000},
    )
    count = 0
    for stream, external_id, deleted, payload, modified_at in rows:
        changed = _instant(modified_at) if deleted else None
        if isinstance(payload, str):
            index.add(
                stream, external_id, orjson.loads(payload), bool(deleted), payload.encode(), changed
            )
        else:
            index.add(stream, external_id, payload, bool(deleted), modified_at=changed)
        if fetcher is not None:
            fetcher.forget([(stream, external_id)])
        count += 1
    return count


def build_index(
    db: DbConnection, connection: ConnectionInfo
) -> tuple[EntityIndex, RawFetcher, datetime | None]:
    """A fresh index of the connection's entities; returns it, its fetcher and its watermark."""
    assert connection.source is not None
    fetcher = RawFetcher(connection.id)
    fetcher.db = db
    index = EntityIndex(connection.source, fetch=fetcher, keep_contacts=False)
    high = max_synced_at(db, connection.id)
    _load_entities(db, connection.id, index)
    return index, fetcher, high


@dataclass
class CachedIndex:
    index: EntityIndex
    fetcher: RawFetcher
    synced_through: datetime | None
    lock: threading.Lock
    fresh: bool = False


class IndexCache:
    """Indexes kept between incremental runs, refreshed from what was stored since.

    Keyed by database, connection id and the connection's creation time, so a connection
    removed and re-created never sees the old one's index.
    """

    def __init__(self, size: int = INDEXES_KEPT) -> None:
        self._entries = BoundedCache[tuple[str, int, str], CachedIndex](
            "a connection's entity index: rebuilding it reads every entity record again",
            size=size,
        )

    def entry(
        self, db: DbConnection, connection: ConnectionInfo, created_at: datetime
    ) -> CachedIndex:
        """The cached index of this connection, built now if there is none.

        Hold `entry.lock` while refreshing or using it.
        """
        assert connection.source is not None
        source = connection.source
        key = (str(db.engine.url), connection.id, created_at.isoformat())

        def build() -> CachedIndex:
            fetcher = RawFetcher(connection.id)
            index = EntityIndex(source, fetch=fetcher, keep_contacts=False)
            return CachedIndex(index, fetcher, None, threading.Lock(), fresh=True)

        return self._entries.get_or_put(key, build)

    def refresh(self, entry: CachedIndex, db: DbConnection, connection: ConnectionInfo) -> int:
        """Load the entity records stored since the last refresh; returns how many."""
        assert connection.source is not None
        entry.fetcher.db = db
        since = None
        if not entry.fresh and entry.synced_through is not None:
            since = entry.synced_through - _OVERLAP
        # The connection's high-water mark *before* reading: what is stored later is read by
        # the next refresh (the overlap covers writers whose clocks lag).
        entry.synced_through = max_synced_at(db, connection.id) or entry.synced_through
        count = _load_entities(db, connection.id, entry.index, since, entry.fetcher)
        entry.fresh = False
        return count

    def clear(self) -> None:
        self._entries.clear()


# -- projections --------------------------------------------------------------------------------


def upsert(
    db: DbConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL, many rows at once."""
    if not rows:
        return
    insert = pg_insert if db.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    for start in range(0, len(rows), 1000):
        db.execute(statement, list(rows[start : start + 1000]))


def _owner_row(source: Source, payload: Record, deleted: bool) -> dict[str, Any]:
    if source == HUBSPOT:
        name = " ".join(
            str(payload.get(k) or "").strip() for k in ("firstName", "lastName")
        ).strip()
        teams = payload.get("teams")
        if isinstance(teams, list):
            primary = [t for t in teams if isinstance(t, Mapping) and t.get("primary")] or teams
            first = primary[0] if primary else None
            team = str(first.get("name")) if isinstance(first, Mapping) else None
        else:
            team = str(teams) if teams else None
        active = not deleted and to_bool(payload.get("archived")) is not True
        return {
            "external_id": str(payload.get("id") or ""),
            "name": (name or str(payload.get("email") or ""))[:200],
            "email": payload.get("email"),
            "team": team[:100] if team else None,
            "active": active,
        }
    department = payload.get("Department")
    return {
        "external_id": str(payload.get("Id") or ""),
        "name": str(payload.get("Name") or payload.get("Username") or "")[:200],
        "email": payload.get("Email"),
        "team": str(department)[:100] if department else None,
        "active": not deleted and to_bool(payload.get("IsActive")) is not False,
    }


def project_owners(
    db: DbConnection, connection: ConnectionInfo, since: datetime | None = None
) -> int:
    """Upsert the reps (Salesforce users, HubSpot owners) stored since `since`; returns count."""
    assert connection.source is not None
    query = select(RawRecord.payload, RawRecord.deleted).where(
        RawRecord.connection_id == connection.id,
        RawRecord.stream == OWNER_STREAMS[connection.source],
    )
    if since is not None:
        query = query.where(RawRecord.synced_at > since)
    rows = []
    for payload, deleted in db.execute(query):
        row = _owner_row(connection.source, payload, deleted)
        if row["external_id"]:
            rows.append({"connection_id": connection.id, **row})
    upsert(
        db,
        CrmOwner.__table__,  # type: ignore[arg-type]
        rows,
        ("connection_id", "external_id"),
        ("name", "email", "team", "active"),
    )
    return len(rows)


def _decimal(value: float | None, limit: float) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(max(-limit, min(limit, value)), 2)))


def project_opportunities(
    db: DbConnection, connection_id: int, facts: Iterable[OpportunityFacts]
) -> int:
    """Upsert opportunity rows from what their records say; returns how many were written."""
    owners: dict[str, int] = {
        row[0]: row[1]
        for row in db.execute(
            select(CrmOwner.external_id, CrmOwner.id).where(CrmOwner.connection_id == connection_id)
        )
    }
    now = utcnow()
    rows = [
        {
            "connection_id": connection_id,
            "external_id": f.external_id,
            "name": (f.name or f.external_id)[:255],
            "account_external_id": f.account_id[:64] if f.account_id else None,
            "owner_id": owners.get(f.owner_id) if f.owner_id else None,
            "pipeline": f.pipeline[:100] if f.pipeline else None,
            "stage": f.stage[:100] if f.stage else None,
            "stage_probability": _decimal(f.stage_probability, 999.99),
            "amount": _decimal(f.amount, 9.99e15),
            "currency": f.currency[:3] if f.currency else None,
            "close_date": f.close_date,
            "outcome": f.outcome,
            "closed_at": f.closed_at,
            "crm_created_at": f.created_at or _EPOCH,
            "deleted": f.deleted,
            "updated_at": now,
        }
        for f in facts
        if f.external_id
    ]
    upsert(
        db,
        Opportunity.__table__,  # type: ignore[arg-type]
        rows,
        ("connection_id", "external_id"),
        [k for k in rows[0] if k not in ("connection_id", "external_id")] if rows else [],
    )
    return len(rows)


def opportunity_row_ids(
    db: DbConnection, connection_id: int, external_ids: Iterable[str] | None = None
) -> dict[str, int]:
    """external id -> opportunities.id, for all of the connection or for these ids."""
    query = select(Opportunity.external_id, Opportunity.id).where(
        Opportunity.connection_id == connection_id
    )
    if external_ids is None:
        return {row[0]: row[1] for row in db.execute(query)}
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for chunk in chunks(wanted):
        found.update(
            (row[0], row[1]) for row in db.execute(query.where(Opportunity.external_id.in_(chunk)))
        )
    return found


def max_synced_at(db: DbConnection, connection_id: int) -> datetime | None:
    value: datetime | None = db.execute(
        select(func.max(RawRecord.synced_at)).where(RawRecord.connection_id == connection_id)
    ).scalar()
    return value
