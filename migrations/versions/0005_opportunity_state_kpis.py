"""opportunity state for KPIs: connection, creation, deletion, baseline fields, change index

Revision ID: 0005_opportunity_state_kpis
Revises: 0004_sync_schedules
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_opportunity_state_kpis"
down_revision: str | None = "0004_sync_schedules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("opportunity_states") as batch:
        batch.add_column(sa.Column("connection_id", BIG_ID, nullable=True))
        batch.add_column(sa.Column("created_at", WHEN, nullable=True))
        batch.add_column(
            sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("stage_probability", sa.Numeric(5, 2), nullable=True))
        batch.add_column(sa.Column("close_date", sa.Date(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_opportunity_states_connection_id_connections"),
            "connections",
            ["connection_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_opportunity_states_updated_at"), ["updated_at"])
        batch.create_index(op.f("ix_opportunity_states_connection_id"), ["connection_id"])


def downgrade() -> None:
    with op.batch_alter_table("opportunity_states") as batch:
        batch.drop_index(op.f("ix_opportunity_states_connection_id"))
        batch.drop_index(op.f("ix_opportunity_states_updated_at"))
        batch.drop_constraint(
            op.f("fk_opportunity_states_connection_id_connections"), type_="foreignkey"
        )
        batch.drop_column("close_date")
        batch.drop_column("stage_probability")
        batch.drop_column("deleted")
        batch.drop_column("created_at")
        batch.drop_column("connection_id")
