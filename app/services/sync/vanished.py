"""Records that vanished from a full-refresh stream (a deleted pipeline, a removed owner).

Pipelines and owners are read whole every run and HubSpot lists only what still exists: a
deleted pipeline simply stops appearing. Once a full read is complete, every stored record it
did not contain is soft-deleted, so its events can be withdrawn like any other deletion. The
tombstone keeps the stored modification time: should the record come back, its next version
restores it.

    seen = SeenIds(sink)                        # run the stream through it
    tombstones = vanished(database, connection_id, "pipelines", seen.ids)
"""

from __future__ import annotations

from sqlalchemy import select

from app.core.database import Database
from app.models import RawRecord
from connectors.core import CursorState, Page, PageCounts, Record, StreamSpec, SyncSink

__all__ = ["SeenIds", "vanished"]


class SeenIds:
    """A sink that passes pages on and remembers every id they held (quarantined ones too)."""

    def __init__(self, sink: SyncSink) -> None:
        self._sink = sink
        self.ids: set[str] = set()

    def commit_page(self, spec: StreamSpec, page: Page, cursor: CursorState) -> PageCounts:
        self.ids.update(record.external_id for record in page.records)
        self.ids.update(row.external_id for row in page.quarantined if row.external_id)
        return self._sink.commit_page(spec, page, cursor)


def vanished(database: Database, connection_id: int, stream: str, seen: set[str]) -> list[Record]:
    """Tombstones for the stored, undeleted records of the stream that a full read lacked."""
    with database.sessions() as session:
        rows = session.execute(
            select(RawRecord.external_id, RawRecord.modified_at).where(
                RawRecord.connection_id == connection_id,
                RawRecord.stream == stream,
                RawRecord.deleted.is_(False),
            )
        ).all()
    return [
        Record(external_id, modified_at, {}, deleted=True, tombstone=True)
        for external_id, modified_at in rows
        if external_id not in seen
    ]
