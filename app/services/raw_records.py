"""The raw layer's write path: batched upserts, idempotent and order-safe.

A record is stored once per (connection, stream, external id). Re-reading the same record (a
lookback overlap, a resumed sync) changes nothing; an older version arriving after a newer one
never overwrites it; a deletion is a soft delete, so downstream events can be withdrawn.

This is the hottest write in the product (every record of every sync), so it goes to the
driver's `executemany` with SQL written once per backend, the payload serialised once (for both
the stored JSON and its hash) and timestamps converted once per row.

    writer = RawRecordWriter(connection, connection_id=1, stream="Task")
    changed = writer.upsert(records)      # rows inserted or changed
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Connection

from app.models.base import utcnow
from connectors.core import Record

__all__ = ["RawRecordWriter", "payload_hash"]

_COLUMNS = (
    "connection_id, stream, external_id, modified_at, deleted, payload, payload_hash, synced_at"
)
_ON_CONFLICT = """
ON CONFLICT (connection_id, stream, external_id) DO UPDATE SET
    modified_at = excluded.modified_at,
    deleted = excluded.deleted,
    payload = excluded.payload,
    payload_hash = excluded.payload_hash,
    synced_at = excluded.synced_at
WHERE excluded.modified_at >= raw_records.modified_at
  AND (excluded.payload_hash <> raw_records.payload_hash OR excluded.deleted <> raw_records.deleted)
"""
_UPSERT_SQL = {
    "sqlite": f"INSERT INTO raw_records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?){_ON_CONFLICT}",
    "postgresql": (
        f"INSERT INTO raw_records ({_COLUMNS}) "
        f"VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s){_ON_CONFLICT}"
    ),
}


def _canonical(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def payload_hash(payload: dict[str, Any]) -> str:
    """A stable digest of the payload, so unchanged re-reads are recognised without a compare."""
    return hashlib.blake2b(_canonical(payload), digest_size=16).hexdigest()


def _sqlite_time(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DATETIME reads back, always with microseconds."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class RawRecordWriter:
    """Upserts the records of one stream of one connection, `batch_size` rows per round trip."""

    def __init__(
        self, connection: Connection, connection_id: int, stream: str, batch_size: int = 2000
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

    def _row(self, record: Record, synced_at: Any) -> tuple[Any, ...]:
        if record.modified_at.tzinfo is None:
            raise ValueError(f"record {record.external_id}: modified_at must be timezone-aware")
        canonical = _canonical(record.payload)
        return (
            self._connection_id,
            self._stream,
            record.external_id,
            _sqlite_time(record.modified_at) if self._on_sqlite else record.modified_at,
            record.deleted,
            canonical.decode("utf-8"),
            hashlib.blake2b(canonical, digest_size=16).hexdigest(),
            synced_at,
        )

    def upsert(self, records: Iterable[Record]) -> int:
        """Store the records; returns how many rows were inserted or changed."""
        now = utcnow()
        synced_at = _sqlite_time(now) if self._on_sqlite else now
        written = 0
        for batch in _batches(records, self._batch_size):
            rows = [self._row(record, synced_at) for record in batch]
            cursor = self._connection.exec_driver_sql(self._sql, rows)
            written += max(cursor.rowcount, 0)
        return written
