"""write-back runs: records deferred (changed, but still waiting for their retry time)

Revision ID: 0006_writeback_runs_deferred
Revises: 0005_opportunity_state_kpis
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_writeback_runs_deferred"
down_revision: str | None = "0005_opportunity_state_kpis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("writeback_runs") as batch:
        batch.add_column(
            sa.Column("records_deferred", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("writeback_runs") as batch:
        batch.drop_column("records_deferred")
