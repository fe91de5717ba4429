"""ruleset activations: each connection has its own active ruleset version

Revision ID: 0008_ruleset_activations
Revises: 0007_sync_run_stream_bytes
Create Date: 2026-12-05

The one global `ruleset_versions.is_active` flag becomes one activation row per connection.
The version active before the upgrade stays active on every connection whose opportunities it
served (those with state rows of that version); a connection never mapped has none until a
ruleset is activated on it. A downgrade keeps one version active: the latest activated.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_ruleset_activations"
down_revision: str | None = "0007_sync_run_stream_bytes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ruleset_activations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("ruleset_version_id", BIG_ID, nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_ruleset_activations_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_ruleset_activations_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_activations")),
    )
    op.create_index(
        "uq_ruleset_activations_active",
        "ruleset_activations",
        ["connection_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        op.f("ix_ruleset_activations_ruleset_version_id"),
        "ruleset_activations",
        ["ruleset_version_id"],
    )
    op.execute(
        """
        INSERT INTO ruleset_activations (connection_id, ruleset_version_id, activated_at)
        SELECT DISTINCT s.connection_id, v.id, COALESCE(v.activated_at, v.created_at)
        FROM ruleset_versions v
        JOIN opportunity_states s ON s.ruleset_version_id = v.id
        WHERE v.is_active AND s.connection_id IS NOT NULL
        """
    )
    with op.batch_alter_table("ruleset_versions") as batch:
        batch.drop_index("ix_ruleset_versions_is_active")
        batch.drop_column("is_active")
        batch.drop_column("activated_at")


def downgrade() -> None:
    with op.batch_alter_table("ruleset_versions") as batch:
        batch.add_column(
            sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_ruleset_versions_is_active", ["is_active"], unique=False)
    op.execute(
        """
        UPDATE ruleset_versions SET is_active = TRUE, activated_at = (
            SELECT MAX(a.activated_at) FROM ruleset_activations a
            WHERE a.ruleset_version_id = ruleset_versions.id)
        WHERE id = (
            SELECT a.ruleset_version_id FROM ruleset_activations a
            WHERE a.ended_at IS NULL ORDER BY a.activated_at DESC, a.id DESC LIMIT 1)
        """
    )
    op.drop_index(op.f("ix_ruleset_activations_ruleset_version_id"), "ruleset_activations")
    op.drop_index("uq_ruleset_activations_active", "ruleset_activations")
    op.drop_table("ruleset_activations")
