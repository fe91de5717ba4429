"""Ruleset versions: immutable, validated sets of processes; each connection has its own
active one."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, utcnow

__all__ = ["Milestone", "MilestoneKind", "Process", "RulesetActivation", "RulesetVersion"]

MilestoneKind = Literal["does", "says", "writes"]


class RulesetVersion(Base):
    __tablename__ = "ruleset_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    processes: Mapped[list[Process]] = relationship(
        back_populates="ruleset_version", order_by="Process.position"
    )


class RulesetActivation(Base):
    """A ruleset version serving one connection from `activated_at` until `ended_at`.

    The row without an end is the connection's active version (at most one, by a partial
    unique index); the ended rows are its history, which rollback reads.
    """

    __tablename__ = "ruleset_activations"
    __table_args__ = (
        Index(
            "uq_ruleset_activations_active",
            "connection_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(None, "ruleset_version_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    ruleset_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ruleset_versions.id", ondelete="CASCADE")
    )
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    activated_by: Mapped[str | None] = mapped_column(String(200))


class Process(Base):
    """A sales process for one market segment: a segment selector and ordered milestones."""

    __tablename__ = "processes"
    __table_args__ = (UniqueConstraint("ruleset_version_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ruleset_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ruleset_versions.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    segment_selector: Mapped[dict[str, Any]] = mapped_column(default=dict)
    half_life_days: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """The forecast's recency half-life ops set: days, "none" or "auto"; NULL: the default."""

    ruleset_version: Mapped[RulesetVersion] = relationship(back_populates="processes")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="process", order_by="Milestone.position"
    )


class Milestone(Base):
    """A customer action (does / says / writes) with its method and detection rules."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("process_id", "key"),
        UniqueConstraint("process_id", "position"),
        CheckConstraint("kind IN ('does', 'says', 'writes')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process_id: Mapped[int] = mapped_column(BigId, ForeignKey("processes.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="")
    guidance: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    exception_reason: Mapped[str | None] = mapped_column(Text)

    process: Mapped[Process] = relationship(back_populates="milestones")
