"""Bookkeeping of mapping runs: what matched, where each run stopped, each opportunity's process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, utcnow

__all__ = ["MappingCandidate", "MappingCursor", "OpportunityProcess"]


class MappingCandidate(Base):
    """A record that matched a rule of a ruleset version, one row per id it links to.

    When an opportunity, contact or account changes, these rows find the records whose
    attribution may change with it, so only those are derived again.
    """

    __tablename__ = "mapping_candidates"
    __table_args__ = (Index(None, "ruleset_version_id", "connection_id", "stream", "external_id"),)

    ruleset_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ruleset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    link_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class MappingCursor(Base):
    """How far a ruleset version has mapped a connection's raw records (by `synced_at`)."""

    __tablename__ = "mapping_cursors"

    ruleset_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ruleset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    synced_through: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OpportunityProcess(Base):
    """The process whose segment selects an opportunity, per ruleset version."""

    __tablename__ = "opportunity_processes"

    ruleset_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ruleset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    opportunity_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    process_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("processes.id", ondelete="CASCADE"), index=True
    )
