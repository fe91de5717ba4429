"""mapping runs: candidates, cursors and opportunity processes

Revision ID: 0002_mapping_runs
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_mapping_runs"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mapping_candidates",
        sa.Column("ruleset_version_id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("link_kind", sa.String(length=16), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_mapping_candidates_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_mapping_candidates_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "ruleset_version_id",
            "connection_id",
            "link_kind",
            "link_id",
            "stream",
            "external_id",
            name=op.f("pk_mapping_candidates"),
        ),
    )
    with op.batch_alter_table("mapping_candidates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mapping_candidates_ruleset_version_id_connection_id_stream_external_id"),
            ["ruleset_version_id", "connection_id", "stream", "external_id"],
            unique=False,
        )

    op.create_table(
        "mapping_cursors",
        sa.Column("ruleset_version_id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("synced_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_mapping_cursors_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_mapping_cursors_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "ruleset_version_id", "connection_id", name=op.f("pk_mapping_cursors")
        ),
    )
    op.create_table(
        "opportunity_processes",
        sa.Column("ruleset_version_id", BIG_ID, nullable=False),
        sa.Column("opportunity_id", BIG_ID, nullable=False),
        sa.Column("process_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_processes_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_opportunity_processes_process_id_processes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_opportunity_processes_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "ruleset_version_id", "opportunity_id", name=op.f("pk_opportunity_processes")
        ),
    )
    with op.batch_alter_table("opportunity_processes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunity_processes_process_id"), ["process_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opportunity_processes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_processes_process_id"))
    op.drop_table("opportunity_processes")
    op.drop_table("mapping_cursors")
    with op.batch_alter_table("mapping_candidates", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_mapping_candidates_ruleset_version_id_connection_id_stream_external_id")
        )
    op.drop_table("mapping_candidates")
