"""What a connection has cost and kept aside lately: CRM API calls (syncs and write-backs)
over the last day beside the CRM's own daily quota as its last sync read it, and the records
a sync quarantined that are not resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.core.database import Database
from app.core.timestamps import IsoDateTime
from app.models import Connection, QuarantinedRecord, SyncRun, WritebackRun
from app.models.base import utcnow

__all__ = ["ApiUsage", "QuarantinedPublic", "api_usage", "quarantined_records"]


@dataclass(frozen=True, slots=True)
class ApiUsage:
    connection: str
    since: IsoDateTime
    sync_calls: int
    writeback_calls: int
    quota_used: int | None = None
    """The CRM's daily API quota used, org-wide (every client's calls), as last reported."""
    quota_limit: int | None = None
    quota_at: IsoDateTime | None = None
    """When the sync that read it started."""

    @property
    def calls(self) -> int:
        return self.sync_calls + self.writeback_calls

    @property
    def quota_share(self) -> float | None:
        """The share of the CRM's daily quota used (None: never reported)."""
        if self.quota_used is None or not self.quota_limit:
            return None
        return self.quota_used / self.quota_limit


@dataclass(frozen=True, slots=True)
class QuarantinedPublic:
    stream: str
    external_id: str | None
    reason: str
    created_at: IsoDateTime
    sync_run_id: int | None


def api_usage(database: Database, hours: float = 24.0) -> dict[str, ApiUsage]:
    """Per connection (by name): CRM API calls its syncs and write-backs made since `hours`
    ago (runs started since then)."""
    since: datetime = utcnow() - timedelta(hours=hours)
    with database.sessions() as session:
        names = dict(session.execute(select(Connection.id, Connection.name)).tuples().all())
        syncs = dict(
            session.execute(
                select(SyncRun.connection_id, func.coalesce(func.sum(SyncRun.api_calls), 0))
                .where(SyncRun.started_at >= since)
                .group_by(SyncRun.connection_id)
            )
            .tuples()
            .all()
        )
        writes = dict(
            session.execute(
                select(
                    WritebackRun.connection_id, func.coalesce(func.sum(WritebackRun.api_calls), 0)
                )
                .where(WritebackRun.started_at >= since)
                .group_by(WritebackRun.connection_id)
            )
            .tuples()
            .all()
        )
        newest = (
            select(SyncRun.connection_id, func.max(SyncRun.id).label("run"))
            .where(SyncRun.quota_limit.is_not(None))
            .group_by(SyncRun.connection_id)
            .subquery()
        )
        quotas = {
            cid: (used, limit, at)
            for cid, used, limit, at in session.execute(
                select(
                    SyncRun.connection_id,
                    SyncRun.quota_used,
                    SyncRun.quota_limit,
                    SyncRun.started_at,
                ).join(newest, SyncRun.id == newest.c.run)
            ).tuples()
        }
    return {
        name: ApiUsage(
            name,
            since,
            int(syncs.get(cid, 0)),
            int(writes.get(cid, 0)),
            *quotas.get(cid, (None, None, None)),
        )
        for cid, name in names.items()
    }


def quarantined_records(
    database: Database, connection: str, limit: int = 20
) -> tuple[int, list[QuarantinedPublic]]:
    """How many unresolved records a connection's syncs kept aside, and the newest of them."""
    with database.sessions() as session:
        cid = session.scalar(select(Connection.id).where(Connection.name == connection))
        if cid is None:
            return 0, []
        unresolved = (QuarantinedRecord.connection_id == cid) & QuarantinedRecord.resolved_at.is_(
            None
        )
        count = session.scalar(select(func.count()).where(unresolved)) or 0
        rows = session.scalars(
            select(QuarantinedRecord)
            .where(unresolved)
            .order_by(QuarantinedRecord.id.desc())
            .limit(limit)
        ).all()
        return int(count), [
            QuarantinedPublic(r.stream, r.external_id, r.reason, r.created_at, r.sync_run_id)
            for r in rows
        ]
