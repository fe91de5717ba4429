"""processes: the forecast's recency half-life ops set per process (days, none or auto)

Revision ID: 0013_process_half_life
Revises: 0012_sync_run_quota
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_process_half_life"
down_revision: str | None = "0012_sync_run_quota"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processes") as batch:
        batch.add_column(sa.Column("half_life_days", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processes") as batch:
        batch.drop_column("half_life_days")
