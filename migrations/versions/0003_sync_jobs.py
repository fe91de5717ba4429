"""sync jobs and webhook receipts

Revision ID: 0003_sync_jobs
Revises: 0002_mapping_runs
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_sync_jobs"
down_revision: str | None = "0002_mapping_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)
QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    op.create_table(
        "webhook_receipts",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_webhook_receipts")),
    )
    with op.batch_alter_table("webhook_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_receipts_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "sync_jobs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("streams", JSON_DOCUMENT, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_at", WHEN, nullable=False),
        sa.Column("enqueued_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sync_run_id", BIG_ID, nullable=True),
        sa.Column("result", JSON_DOCUMENT, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'partial', 'failed', 'stopped')",
            name=op.f("ck_sync_jobs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_sync_jobs_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sync_run_id"],
            ["sync_runs.id"],
            name=op.f("fk_sync_jobs_sync_run_id_sync_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_jobs")),
    )
    with op.batch_alter_table("sync_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_jobs_connection_id_enqueued_at"),
            ["connection_id", "enqueued_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_sync_jobs_status_run_at"), ["status", "run_at"], unique=False
        )
        batch_op.create_index(
            "uq_sync_jobs_queued_connection",
            ["connection_id"],
            unique=True,
            postgresql_where=QUEUED,
            sqlite_where=QUEUED,
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_jobs", schema=None) as batch_op:
        batch_op.drop_index("uq_sync_jobs_queued_connection")
        batch_op.drop_index(batch_op.f("ix_sync_jobs_status_run_at"))
        batch_op.drop_index(batch_op.f("ix_sync_jobs_connection_id_enqueued_at"))
    op.drop_table("sync_jobs")
    with op.batch_alter_table("webhook_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_receipts_received_at"))
    op.drop_table("webhook_receipts")
