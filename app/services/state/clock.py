"""The data clock: the one "now" that KPIs, write-back, backtests and status all read.

`MILESTONES_KPI_AS_OF` chooses it: `clock` is the wall clock, a fixed instant is that instant,
and `data` (the default) is the CRMs' own clock as of their last sync. For a live connection,
the newest record of a stream was modified in the CRM at L and stored here at S, so when the
connection's last successful sync finished, at F, the CRM's clock read L + (F - S): F minus
the sync lag. With the sandbox or any replayed history that is the history's own "now", moved
on by every sync; for an export connection (a file, not a live CRM) it is L.

The clock moves when a sync finishes, never with the wall clock in between: it is a function
of the database, so every reader (the API's views in any process, write-back in the worker,
`milestones status`, a backtest) reads the same instant whenever it looks, and a CRM field
written at one moment equals the API's answer read at a later one. How long ago that sync
finished is every answer's `data_age_seconds` (`data_age`). Records stored while no sync
has finished yet (a sync still running, a store filled by other means) are read against the
wall clock, or against their own storage time once it is past the last finished sync.

Streams that write-back writes (opportunities and accounts, deals and companies) are not
read: our own writes come back with the next sync stamped with the CRM's time of the write,
which would move the clock by itself, and with it every value we write. The view takes the
latest clock over the connections; with no raw records at all, the wall clock.

    as_of = data_clock(session, "data")
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Connection, RawRecord, StreamCursor, SyncRun
from app.models.base import utcnow
from app.models.sync import FINISHED_OK
from app.services.writeback.fields import OBJECTS

__all__ = ["AsOf", "as_utc", "data_age", "data_clock"]

AsOf = Literal["data", "clock"] | datetime
"""What "now" is: the CRMs' clock (`data`), the wall clock (`clock`), or a fixed instant."""


def data_clock(session: Session, setting: AsOf = "data", now: datetime | None = None) -> datetime:
    """The instant every KPI, field value and backtest is computed as of."""
    if isinstance(setting, datetime):
        return setting.astimezone(UTC)
    now = now or utcnow()
    if setting == "clock":
        return now
    synced = {
        connection_id: finished
        for connection_id, finished in session.execute(
            select(SyncRun.connection_id, func.max(SyncRun.finished_at))
            .where(SyncRun.status.in_(FINISHED_OK))
            .group_by(SyncRun.connection_id)
        )
    }
    clocks = (
        _connection_clock(session, connection_id, kind, synced.get(connection_id), now)
        for connection_id, kind in session.execute(select(Connection.id, Connection.kind))
    )
    return max((clock for clock in clocks if clock is not None), default=now)


def _connection_clock(
    session: Session, connection_id: int, kind: str, synced: datetime | None, now: datetime
) -> datetime | None:
    """One connection's CRM clock when its last successful sync finished (`synced`), or None
    when nothing was synced from it yet."""
    streams = set(
        session.scalars(
            select(StreamCursor.stream).where(StreamCursor.connection_id == connection_id)
        )
    )
    written = next((set(objects) for crm, objects in OBJECTS.items() if crm == kind), set())
    read_only = sorted(streams - written) or sorted(streams)
    best: datetime | None = None
    for stream in read_only:
        newest = session.execute(
            select(RawRecord.modified_at, RawRecord.synced_at)
            .where(RawRecord.connection_id == connection_id, RawRecord.stream == stream)
            .order_by(RawRecord.modified_at.desc())
            .limit(1)
        ).first()
        if newest is None:
            continue
        modified_at, synced_at = as_utc(newest[0]), as_utc(newest[1])
        if kind == "export":
            clock = modified_at
        else:
            read_at = now if synced is None else max(as_utc(synced), synced_at)
            clock = read_at - max(timedelta(0), synced_at - modified_at)
        best = clock if best is None or clock > best else best
    return best


def data_age(synced_until: datetime | None) -> float | None:
    """How old the data is, in seconds to a tenth: the wall clock now less the moment the
    newest successful sync behind it finished (None before any sync). The data clock stands
    still between syncs; this is what moves."""
    if synced_until is None:
        return None
    return round(max(0.0, (utcnow() - as_utc(synced_until)).total_seconds()), 1)


def as_utc(moment: datetime) -> datetime:
    """The database hands back naive instants on SQLite: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
