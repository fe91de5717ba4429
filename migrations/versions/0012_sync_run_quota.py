"""sync runs: the CRM's daily API quota as it reported it during the run

Revision ID: 0012_sync_run_quota
Revises: 0011_raw_records_scale
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_sync_run_quota"
down_revision: str | None = "0011_raw_records_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("quota_used", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("quota_limit", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("quota_limit")
        batch.drop_column("quota_used")
