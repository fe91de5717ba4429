"""The raw layer: CRM records stored verbatim, the replay log for every derived table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, utcnow

__all__ = ["QuarantinedRecord", "RawRecord"]


class RawRecord(Base):
    """A CRM record as pulled; one row per (connection, stream, external id), soft-deleted."""

    __tablename__ = "raw_records"
    __table_args__ = (
        UniqueConstraint("connection_id", "stream", "external_id"),
        Index(None, "connection_id", "stream", "modified_at"),
        Index(None, "connection_id", "synced_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    stream: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    modified_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # `json`, not `jsonb`, on PostgreSQL too: kept as the text stored (migration 0014), since
    # parsing every synced record into jsonb cost a fifth of the server's work per row.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_hash: Mapped[str] = mapped_column(String(32))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return (
            f"RawRecord(stream={self.stream!r}, external_id={self.external_id!r}, "
            f"deleted={self.deleted!r})"
        )


class QuarantinedRecord(Base):
    """A record a sync could not accept (missing fields, malformed page); kept with the reason."""

    __tablename__ = "quarantined_records"
    __table_args__ = (Index(None, "connection_id", "stream", "resolved_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    sync_run_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sync_runs.id", ondelete="SET NULL")
    )
    stream: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
