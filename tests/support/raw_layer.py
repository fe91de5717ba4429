"""What syncs stored in the raw layer, keyed for comparing runs, sources and the sandbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.database import Database
from app.models import Connection, RawRecord

__all__ = ["RawRows", "raw_rows"]

RawRows = dict[tuple[str, str], tuple[dict[str, Any], bool]]


def raw_rows(db: Database, connection: str | None = None) -> RawRows:
    """(stream, external id) -> (payload, deleted) of the raw records of the connection named
    `connection`, or of every connection."""
    query = select(RawRecord)
    if connection is not None:
        query = query.join(Connection, Connection.id == RawRecord.connection_id).where(
            Connection.name == connection
        )
    with db.sessions() as session:
        return {(r.stream, r.external_id): (r.payload, r.deleted) for r in session.scalars(query)}
