"""Targets: what must be won in a period (a month or a quarter), per process, optionally for
one team or one rep. An empty `team` and `owner` is the whole process's target."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import CheckConstraint, Date, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, utcnow

__all__ = ["Metric", "PeriodKind", "Target"]

PeriodKind = Literal["month", "quarter"]
Metric = Literal["amount", "deals"]


class Target(Base):
    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("process_key", "period_kind", "period_start", "team", "owner"),
        CheckConstraint("period_kind IN ('month', 'quarter')", name="period_kind"),
        CheckConstraint("metric IN ('amount', 'deals')", name="metric"),
        CheckConstraint("value > 0", name="value"),
        CheckConstraint("team = '' OR owner = ''", name="one_breakdown"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(64))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(8))
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    team: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """The team the target is for; empty: not broken down by team."""
    owner: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """The rep's CRM owner id; empty: not a rep's target."""
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Target(id={self.id!r}, process={self.process_key!r}, {self.period_start})"
