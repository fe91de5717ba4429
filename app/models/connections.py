"""CRM connections and their per-stream cursors."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, utcnow

__all__ = ["CONNECTION_KINDS", "Connection", "ConnectionKind", "StreamCursor"]

ConnectionKind = Literal["salesforce", "hubspot", "export"]
CONNECTION_KINDS: tuple[ConnectionKind, ...] = ("salesforce", "hubspot", "export")


class Connection(Base):
    """One CRM org or portal. Credentials are stored sealed (`app.core.crypto`), never in clear."""

    __tablename__ = "connections"
    __table_args__ = (CheckConstraint("kind IN ('salesforce', 'hubspot', 'export')", name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credentials_sealed: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Connection(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"


class StreamCursor(Base):
    """Incremental position of one stream: the high-water mark and any resumable page state.

    `start_value` is frozen when a sync starts (the API filter uses it); `last_value` advances
    with every committed page and becomes the next sync's start, minus the lookback overlap.
    """

    __tablename__ = "stream_cursors"

    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_value: Mapped[datetime | None]
    last_value: Mapped[datetime | None]
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return (
            f"StreamCursor(connection_id={self.connection_id!r}, stream={self.stream!r}, "
            f"last_value={self.last_value!r})"
        )
