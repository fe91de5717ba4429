"""The work queue: sync jobs claimed by workers, and the webhook signatures already seen.

A job is one pass of a connection's pipeline (sync -> mapping -> state -> write-back). The
leader's schedule and the webhooks enqueue jobs; workers claim them with `FOR UPDATE SKIP
LOCKED` and hold the connection's advisory lock while they run (see `app.services.jobs.queue`).
At most one job per connection waits in the queue: new triggers merge into it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, JSONDocument, utcnow

__all__ = ["JOB_STATUSES", "JobStatus", "SyncJob", "SyncSchedule", "WebhookReceipt"]

JobStatus = Literal["queued", "running", "succeeded", "partial", "failed", "stopped"]
JOB_STATUSES: tuple[JobStatus, ...] = (
    "queued",
    "running",
    "succeeded",
    "partial",
    "failed",
    "stopped",
)


class SyncJob(Base):
    __tablename__ = "sync_jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'partial', 'failed', 'stopped')",
            name="status",
        ),
        Index(None, "status", "run_at"),
        Index(None, "connection_id", "enqueued_at"),
        Index(
            "uq_sync_jobs_queued_connection",
            "connection_id",
            unique=True,
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(String(32))
    streams: Mapped[list[str] | None] = mapped_column(JSONDocument())
    status: Mapped[str] = mapped_column(String(16), default="queued")
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sync_run_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sync_runs.id", ondelete="SET NULL")
    )
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class SyncSchedule(Base):
    """The leader's published plan: when each connection's next scheduled run is due.

    Written by the scheduler that holds the leader lock, read by `milestones status`; the
    schedule itself lives in that scheduler's memory, never in a shared job store.
    """

    __tablename__ = "sync_schedules"

    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    interval_seconds: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime | None]
    leader: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookReceipt(Base):
    """A signature accepted once; the same signature again is a replay."""

    __tablename__ = "webhook_receipts"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
