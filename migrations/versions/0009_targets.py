"""targets: what must be won per process and period, optionally per team or rep

Revision ID: 0009_targets
Revises: 0008_ruleset_activations
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_targets"
down_revision: str | None = "0008_ruleset_activations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("process_key", sa.String(length=64), nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Numeric(18, 2), nullable=False),
        sa.Column("team", sa.String(length=100), server_default="", nullable=False),
        sa.Column("owner", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "period_kind IN ('month', 'quarter')", name=op.f("ck_targets_period_kind")
        ),
        sa.CheckConstraint("metric IN ('amount', 'deals')", name=op.f("ck_targets_metric")),
        sa.CheckConstraint("value > 0", name=op.f("ck_targets_value")),
        sa.CheckConstraint("team = '' OR owner = ''", name=op.f("ck_targets_one_breakdown")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint(
            "process_key",
            "period_kind",
            "period_start",
            "team",
            "owner",
            name=op.f("uq_targets_process_key_period_kind_period_start_team_owner"),
        ),
    )


def downgrade() -> None:
    op.drop_table("targets")
