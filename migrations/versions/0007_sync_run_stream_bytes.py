"""sync run streams: bytes received per stream

Revision ID: 0007_sync_run_stream_bytes
Revises: 0006_writeback_runs_deferred
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sync_run_stream_bytes"
down_revision: str | None = "0006_writeback_runs_deferred"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_run_streams") as batch:
        batch.add_column(
            sa.Column("bytes_received", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_run_streams") as batch:
        batch.drop_column("bytes_received")
