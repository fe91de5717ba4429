"""CRM entities the KPIs are about: opportunities (deals) and their owners (reps)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, utcnow

__all__ = ["CrmOwner", "Opportunity", "Outcome"]

Outcome = Literal["open", "won", "lost"]


class CrmOwner(Base):
    """A rep (Salesforce User, HubSpot owner) with the team KPIs are grouped by."""

    __tablename__ = "crm_owners"
    __table_args__ = (UniqueConstraint("connection_id", "external_id"), Index(None, "team"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Opportunity(Base):
    """An opportunity or deal as the CRM has it now; outcome is read from the CRM."""

    __tablename__ = "opportunities"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        CheckConstraint("outcome IN ('open', 'won', 'lost')", name="outcome"),
        Index(None, "owner_id", "outcome"),
        Index(None, "connection_id", "account_external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE")
    )
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    account_external_id: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("crm_owners.id", ondelete="SET NULL")
    )
    pipeline: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(100))
    stage_probability: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    close_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(8), default="open")
    closed_at: Mapped[datetime | None]
    crm_created_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
