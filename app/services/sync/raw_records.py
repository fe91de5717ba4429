"""The raw layer's write path: batched upserts, idempotent and order-safe.

A record is stored once per (connection, stream, external id). Re-reading the same record (a
lookback overlap, a resumed sync) changes nothing; an older version arriving after a newer one
never overwrites it; a deletion is a soft delete, so downstream events can be withdrawn.

This is the hottest write in the product (every record of every sync). On SQLite (and on
PostgreSQL with `bulk=False`, the row path) each batch first reads the stored hashes of its
records (one indexed query), so unchanged re-reads cost no write and the counts say exactly
what changed; the writes go to the driver's `executemany` with SQL written once per backend,
the payload serialised once (for both the stored JSON and its hash). On PostgreSQL a batch
goes through one statement per chunk of `STATEMENT_ROWS` instead (`raw_records_postgres`),
the next chunk serialised, hashed and packed while the server stores this one: same rows
stored, same counts, a fraction of the round trips and index probes.

    writer = RawRecordWriter(connection, connection_id=1, stream="Task")
    counts = writer.upsert(records)       # new / changed / deleted / unchanged
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Connection

from app.models.base import utcnow
from app.services.sync.raw_records_postgres import PackedChunk, StagedRow, pack_chunk, upsert_chunks
from app.services.sync.raw_sql import COLUMNS, ON_CONFLICT
from connectors.core import Record

__all__ = ["RawRecordWriter", "UpsertCounts", "payload_hash"]

_TOMBSTONE_SQL = """
UPDATE raw_records SET deleted = {true}, modified_at = {mark}, synced_at = {mark}
WHERE connection_id = {mark} AND stream = {mark} AND external_id = {mark} AND deleted = {false}
"""
_UPSERT_SQL = {
    "sqlite": f"INSERT INTO raw_records ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?){ON_CONFLICT}",
    "postgresql": (
        f"INSERT INTO raw_records ({COLUMNS}) "
        f"VALUES (%s, %s, %s, %s, %s, %s::json, %s, %s){ON_CONFLICT}"
    ),
}


@dataclass
class UpsertCounts:
    """What an upsert did: new rows, changed rows, rows newly marked deleted, rows left alone."""

    new: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0

    def add(self, kind: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)

    @property
    def written(self) -> int:
        return self.new + self.changed + self.deleted


def _canonical(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def payload_hash(payload: dict[str, Any]) -> str:
    """A stable digest of the payload, so unchanged re-reads are recognised without a compare."""
    return hashlib.blake2b(_canonical(payload), digest_size=16).hexdigest()


def _sqlite_time(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DATETIME reads back, always with microseconds."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# Rows per statement on the bulk path: small enough that a page of a few thousand records
# is several statements (the client prepares one while the server stores another), large
# enough that a statement's fixed cost (a round trip, the plan) stays a small share.
STATEMENT_ROWS = 1000


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _latest(batch: list[Record]) -> dict[str, Record]:
    """A page may repeat a record; its newest version wins."""
    latest: dict[str, Record] = {}
    for record in batch:
        seen = latest.get(record.external_id)
        if seen is None or record.modified_at >= seen.modified_at:
            latest[record.external_id] = record
    return latest


class RawRecordWriter:
    """Upserts the records of one stream of one connection, `batch_size` rows per round trip.

    `bulk=False` keeps PostgreSQL on the row path (read, then `executemany`), which the bulk
    path is tested against; SQLite always takes the row path."""

    def __init__(
        self,
        connection: Connection,
        connection_id: int,
        stream: str,
        batch_size: int = 2000,
        *,
        bulk: bool = True,
    ) -> None:
        dialect = connection.dialect.name
        if dialect not in _UPSERT_SQL:
            raise ValueError(f"unsupported database backend {dialect!r}")
        self._connection = connection
        self._connection_id = connection_id
        self._stream = stream
        self._batch_size = batch_size
        self._sql = _UPSERT_SQL[dialect]
        self._on_sqlite = dialect == "sqlite"
        self._bulk = bulk and not self._on_sqlite
        self._mark = "?" if self._on_sqlite else "%s"
        true, false = ("1", "0") if self._on_sqlite else ("TRUE", "FALSE")
        self._tombstone_sql = _TOMBSTONE_SQL.format(mark=self._mark, true=true, false=false)

    def _row(self, record: Record, synced_at: Any) -> tuple[Any, ...]:
        staged = self._staged(record)
        return (
            self._connection_id,
            self._stream,
            record.external_id,
            _sqlite_time(record.modified_at) if self._on_sqlite else record.modified_at,
            record.deleted,
            (staged.payload or b"").decode("utf-8"),
            staged.payload_hash,
            synced_at,
        )

    def _stored(self, external_ids: list[str]) -> dict[str, tuple[str, bool, Any]]:
        """Hash, deleted flag and modification time (in the driver's own form) of stored rows.

        On PostgreSQL the ids arrive as one array joined on the unique key, with sequential
        scans off for the transaction: while a first load grows the table faster than it is
        analysed, the planner would otherwise scan the whole stream for every page."""
        if self._on_sqlite:
            marks = ", ".join("?" * len(external_ids))
            rows = self._connection.exec_driver_sql(
                "SELECT external_id, payload_hash, deleted, modified_at FROM raw_records "
                f"WHERE connection_id = ? AND stream = ? AND external_id IN ({marks})",
                (self._connection_id, self._stream, *external_ids),
            )
        else:
            # Only this transaction: statistics lag behind a first load, and a scan of the
            # whole stream per page would make the load quadratic.
            self._connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = self._connection.exec_driver_sql(
                "SELECT r.external_id, r.payload_hash, r.deleted, r.modified_at "
                "FROM unnest(%s::text[]) AS wanted(external_id) JOIN raw_records AS r "
                "ON r.connection_id = %s AND r.stream = %s AND r.external_id = wanted.external_id",
                (external_ids, self._connection_id, self._stream),
            )
        return {row[0]: (row[1], bool(row[2]), row[3]) for row in rows}

    def upsert(self, records: Iterable[Record]) -> UpsertCounts:
        """Store the records, writing only those that are new or changed."""
        now = utcnow()
        synced_at = _sqlite_time(now) if self._on_sqlite else now
        counts = UpsertCounts()
        if self._bulk:
            chunks = self._packed(records)
            written, given = upsert_chunks(
                self._connection, self._connection_id, self._stream, chunks, now
            )
            counts.new, counts.changed, counts.deleted = written
            counts.unchanged = given - sum(written)
            return counts
        for batch in _batches(records, self._batch_size):
            latest = _latest(batch)
            stored = self._stored(list(latest))
            rows = []
            tombstones = []
            for record in latest.values():
                if record.tombstone:
                    before = stored.get(record.external_id)
                    if before is None or before[1]:
                        counts.add("unchanged")  # never stored, or already deleted
                        continue
                    counts.add("deleted")
                    stamp = (
                        _sqlite_time(record.modified_at) if self._on_sqlite else record.modified_at
                    )
                    tombstones.append(
                        (stamp, synced_at, self._connection_id, self._stream, record.external_id)
                    )
                    continue
                row = self._row(record, synced_at)
                before = stored.get(record.external_id)
                if before is None:
                    counts.add("deleted" if record.deleted else "new")
                elif row[3] < before[2] or (row[6], record.deleted) == before[:2]:
                    counts.add("unchanged")
                    continue
                elif record.deleted and not before[1]:
                    counts.add("deleted")
                else:
                    counts.add("changed")
                rows.append(row)
            if rows:
                self._connection.exec_driver_sql(self._sql, rows)
            if tombstones:
                self._connection.exec_driver_sql(self._tombstone_sql, tombstones)
        return counts

    def _packed(self, records: Iterable[Record]) -> Iterator[PackedChunk]:
        """The bulk path's statements: each batch without repeats, in chunks (PostgreSQL)."""
        for batch in _batches(records, self._batch_size):
            latest = list(_latest(batch).values())
            for start in range(0, len(latest), STATEMENT_ROWS):
                yield pack_chunk([self._staged(r) for r in latest[start : start + STATEMENT_ROWS]])

    def _staged(self, record: Record) -> StagedRow:
        """The record as stored: canonical JSON, serialised once for the column and its hash."""
        if record.tombstone:
            return StagedRow(record.external_id, record.modified_at, True, True, None, None)
        if record.modified_at.tzinfo is None:
            raise ValueError(f"record {record.external_id}: modified_at must be timezone-aware")
        canonical = _canonical(record.payload)
        digest = hashlib.blake2b(canonical, digest_size=16).hexdigest()
        return StagedRow(
            record.external_id, record.modified_at, record.deleted, False, canonical, digest
        )
