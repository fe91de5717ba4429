"""Milestone events (derived from raw records) and the per-opportunity state built from them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, utcnow

__all__ = ["MilestoneEvent", "OpportunityState"]


class MilestoneEvent(Base):
    """The customer reached a milestone; `evidence_*` point at the CRM record that proves it.

    Its identity (ruleset version, opportunity, milestone, evidence record, rule) is unique, so
    re-processing the same records never adds a second event.
    """

    __tablename__ = "milestone_events"
    __table_args__ = (
        UniqueConstraint(
            "ruleset_version_id",
            "opportunity_id",
            "milestone_id",
            "evidence_connection_id",
            "evidence_stream",
            "evidence_external_id",
            "rule_key",
        ),
        Index(None, "opportunity_id", "occurred_at"),
        Index(None, "milestone_id", "occurred_at"),
        Index(None, "evidence_connection_id", "evidence_stream", "evidence_external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ruleset_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ruleset_versions.id", ondelete="CASCADE")
    )
    opportunity_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="CASCADE")
    )
    milestone_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("milestones.id", ondelete="CASCADE")
    )
    occurred_at: Mapped[datetime]
    rule_key: Mapped[str] = mapped_column(String(64))
    evidence_connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    evidence_stream: Mapped[str] = mapped_column(String(64))
    evidence_external_id: Mapped[str] = mapped_column(String(64))
    evidence_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attributed_from: Mapped[datetime | None]
    """From when the opportunity has the event: None, from the customer's action; else the
    deletion in the CRM of another opportunity that moved the record here (`mappings.engine`).
    Today's readers count every event; a past instant before it does not."""


class OpportunityState(Base):
    """Where an opportunity stands, maintained incrementally as events arrive (never re-scanned)."""

    __tablename__ = "opportunity_states"
    __table_args__ = (
        Index(None, "process_id", "current_position"),
        Index(None, "owner_id", "outcome"),
        Index(None, "team", "outcome"),
        Index(None, "updated_at"),
        Index(None, "connection_id"),
    )

    opportunity_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    ruleset_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("ruleset_versions.id", ondelete="CASCADE")
    )
    process_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("processes.id", ondelete="SET NULL")
    )
    current_milestone_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("milestones.id", ondelete="SET NULL")
    )
    current_position: Mapped[int] = mapped_column(Integer, default=0)
    current_since: Mapped[datetime | None]
    reached: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_customer_action_at: Mapped[datetime | None]
    last_customer_action_kind: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(8), default="open")
    closed_at: Mapped[datetime | None]
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("crm_owners.id", ondelete="SET NULL")
    )
    team: Mapped[str | None] = mapped_column(String(100))
    segment: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    connection_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime | None]
    """When the CRM says the opportunity was created: the start of position 0."""
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    stage_probability: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    close_date: Mapped[date | None] = mapped_column(Date)
