"""Declarative base, naming convention and the column types every model shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, Update, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "MAX_BIGINT",
    "MAX_INT",
    "Base",
    "BigId",
    "JSONDocument",
    "UTCDateTime",
    "cancel_running",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; INTEGER on SQLite so that the primary key stays the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")
MAX_BIGINT = 2**63 - 1
"""The largest id a `BigId` column holds: a larger number can name no row."""
MAX_INT = 2**31 - 1
"""The largest value an `Integer` column holds (PostgreSQL)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def cancel_running(run: Any, connection_id: int, error: str, now: datetime | None = None) -> Update:
    """The statement that closes a connection's runs still marked running (of a run table:
    sync or write-back) as cancelled, saying why. Whoever runs it holds the connection's lock,
    so such a run belongs to a process that died mid-run; every run then ends in a stated
    status."""
    return (
        update(run)
        .where(run.connection_id == connection_id, run.status == "running")
        .values(status="cancelled", finished_at=now or utcnow(), error=error)
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as naive
    UTC and given their zone back on the way out. Naive input is rejected: it is always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONDocument(TypeDecorator[Any]):
    """JSON documents: JSONB on PostgreSQL, JSON text on SQLite."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(JSON())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument(),
        list[dict[str, Any]]: JSONDocument(),
    }
