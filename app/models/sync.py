"""Sync runs: what every pull did, per stream, for status pages and metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, utcnow

__all__ = ["FINISHED_OK", "RunStatus", "SyncRun", "SyncRunStream"]

RunStatus = Literal["running", "succeeded", "partial", "failed", "cancelled"]
FINISHED_OK: tuple[RunStatus, ...] = ("succeeded", "partial")
"""A run that finished and stored what it read (every stream, or some of them)."""


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'succeeded', 'partial', 'failed', 'cancelled')", name="status"
        ),
        Index(None, "connection_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(String(32), default="manual")
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    quota_used: Mapped[int | None] = mapped_column(BigInteger)
    """The CRM's daily API quota as it last reported it during the run (Salesforce
    `Sforce-Limit-Info`, HubSpot's daily rate-limit headers): calls used of `quota_limit`."""
    quota_limit: Mapped[int | None] = mapped_column(BigInteger)


class SyncRunStream(Base):
    __tablename__ = "sync_run_streams"

    sync_run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("sync_runs.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    records_read: Mapped[int] = mapped_column(Integer, default=0)
    records_new: Mapped[int] = mapped_column(Integer, default=0)
    records_changed: Mapped[int] = mapped_column(Integer, default=0)
    records_deleted: Mapped[int] = mapped_column(Integer, default=0)
    records_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
