"""domain schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Shared column types; plain SQLAlchemy so this revision never changes with the app's code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("owner_external_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'ops', 'manager', 'rep')", name=op.f("ck_api_keys_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "connections",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("settings", JSON_DOCUMENT, nullable=False),
        sa.Column("credentials_sealed", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("sync_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('salesforce', 'hubspot', 'export')", name=op.f("ck_connections_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("name", name=op.f("uq_connections_name")),
    )
    op.create_table(
        "ruleset_versions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_ruleset_versions_version")),
    )
    with op.batch_alter_table("ruleset_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ruleset_versions_is_active"), ["is_active"], unique=False
        )

    op.create_table(
        "crm_owners",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_crm_owners_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_owners")),
        sa.UniqueConstraint(
            "connection_id", "external_id", name=op.f("uq_crm_owners_connection_id_external_id")
        ),
    )
    with op.batch_alter_table("crm_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_owners_team"), ["team"], unique=False)

    op.create_table(
        "processes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("ruleset_version_id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("segment_selector", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_processes_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processes")),
        sa.UniqueConstraint(
            "ruleset_version_id", "key", name=op.f("uq_processes_ruleset_version_id_key")
        ),
    )
    op.create_table(
        "raw_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("payload_hash", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_raw_records_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_records")),
        sa.UniqueConstraint(
            "connection_id",
            "stream",
            "external_id",
            name=op.f("uq_raw_records_connection_id_stream_external_id"),
        ),
    )
    with op.batch_alter_table("raw_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_raw_records_connection_id_stream_modified_at"),
            ["connection_id", "stream", "modified_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_raw_records_connection_id_synced_at"),
            ["connection_id", "synced_at"],
            unique=False,
        )

    op.create_table(
        "stream_cursors",
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("start_value", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_value", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", JSON_DOCUMENT, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_stream_cursors_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "stream", name=op.f("pk_stream_cursors")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("bytes_received", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'partial', 'failed', 'cancelled')",
            name=op.f("ck_sync_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_sync_runs_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_runs_connection_id_started_at"),
            ["connection_id", "started_at"],
            unique=False,
        )

    op.create_table(
        "writeback_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("written_values", JSON_DOCUMENT, nullable=False),
        sa.Column("values_hash", sa.String(length=32), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_writeback_records_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeback_records")),
        sa.UniqueConstraint(
            "connection_id",
            "object_type",
            "external_id",
            name=op.f("uq_writeback_records_connection_id_object_type_external_id"),
        ),
    )
    with op.batch_alter_table("writeback_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_writeback_records_connection_id_next_attempt_at"),
            ["connection_id", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "writeback_runs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("records_checked", sa.Integer(), nullable=False),
        sa.Column("records_changed", sa.Integer(), nullable=False),
        sa.Column("records_written", sa.Integer(), nullable=False),
        sa.Column("records_failed", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_writeback_runs_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeback_runs")),
    )
    with op.batch_alter_table("writeback_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_writeback_runs_connection_id_started_at"),
            ["connection_id", "started_at"],
            unique=False,
        )

    op.create_table(
        "milestones",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("process_id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("guidance", sa.Text(), nullable=False),
        sa.Column("rules", JSON_DOCUMENT, nullable=False),
        sa.Column("exception_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('does', 'says', 'writes')", name=op.f("ck_milestones_kind")),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_milestones_process_id_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
        sa.UniqueConstraint("process_id", "key", name=op.f("uq_milestones_process_id_key")),
        sa.UniqueConstraint(
            "process_id", "position", name=op.f("uq_milestones_process_id_position")
        ),
    )
    op.create_table(
        "opportunities",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("account_external_id", sa.String(length=64), nullable=True),
        sa.Column("owner_id", BIG_ID, nullable=True),
        sa.Column("pipeline", sa.String(length=100), nullable=True),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.Column("stage_probability", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("crm_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('open', 'won', 'lost')", name=op.f("ck_opportunities_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_opportunities_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["crm_owners.id"],
            name=op.f("fk_opportunities_owner_id_crm_owners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint(
            "connection_id", "external_id", name=op.f("uq_opportunities_connection_id_external_id")
        ),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunities_connection_id_account_external_id"),
            ["connection_id", "account_external_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_opportunities_owner_id_outcome"), ["owner_id", "outcome"], unique=False
        )

    op.create_table(
        "quarantined_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", BIG_ID, nullable=False),
        sa.Column("sync_run_id", BIG_ID, nullable=True),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_quarantined_records_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sync_run_id"],
            ["sync_runs.id"],
            name=op.f("fk_quarantined_records_sync_run_id_sync_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_records")),
    )
    with op.batch_alter_table("quarantined_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantined_records_connection_id_stream_resolved_at"),
            ["connection_id", "stream", "resolved_at"],
            unique=False,
        )

    op.create_table(
        "sync_run_streams",
        sa.Column("sync_run_id", BIG_ID, nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("records_new", sa.Integer(), nullable=False),
        sa.Column("records_changed", sa.Integer(), nullable=False),
        sa.Column("records_deleted", sa.Integer(), nullable=False),
        sa.Column("records_quarantined", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sync_run_id"],
            ["sync_runs.id"],
            name=op.f("fk_sync_run_streams_sync_run_id_sync_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sync_run_id", "stream", name=op.f("pk_sync_run_streams")),
    )
    op.create_table(
        "milestone_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("ruleset_version_id", BIG_ID, nullable=False),
        sa.Column("opportunity_id", BIG_ID, nullable=False),
        sa.Column("milestone_id", BIG_ID, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_key", sa.String(length=64), nullable=False),
        sa.Column("evidence_connection_id", BIG_ID, nullable=False),
        sa.Column("evidence_stream", sa.String(length=64), nullable=False),
        sa.Column("evidence_external_id", sa.String(length=64), nullable=False),
        sa.Column("evidence_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_connection_id"],
            ["connections.id"],
            name=op.f("fk_milestone_events_evidence_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestones.id"],
            name=op.f("fk_milestone_events_milestone_id_milestones"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_milestone_events_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_milestone_events_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_events")),
        sa.UniqueConstraint(
            "ruleset_version_id",
            "opportunity_id",
            "milestone_id",
            "evidence_connection_id",
            "evidence_stream",
            "evidence_external_id",
            "rule_key",
            name=op.f(
                "uq_milestone_events_ruleset_version_id_opportunity_id_milestone_id_evidence_connection_id_evidence_stream_evidence_external_id_rule_key"
            ),
        ),
    )
    with op.batch_alter_table("milestone_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f(
                "ix_milestone_events_evidence_connection_id_evidence_stream_evidence_external_id"
            ),
            ["evidence_connection_id", "evidence_stream", "evidence_external_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_milestone_events_milestone_id_occurred_at"),
            ["milestone_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_milestone_events_opportunity_id_occurred_at"),
            ["opportunity_id", "occurred_at"],
            unique=False,
        )

    op.create_table(
        "opportunity_states",
        sa.Column("opportunity_id", BIG_ID, nullable=False),
        sa.Column("ruleset_version_id", BIG_ID, nullable=False),
        sa.Column("process_id", BIG_ID, nullable=True),
        sa.Column("current_milestone_id", BIG_ID, nullable=True),
        sa.Column("current_position", sa.Integer(), nullable=False),
        sa.Column("current_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reached", JSON_DOCUMENT, nullable=False),
        sa.Column("last_customer_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_customer_action_kind", sa.String(length=8), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("owner_id", BIG_ID, nullable=True),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("segment", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_milestone_id"],
            ["milestones.id"],
            name=op.f("fk_opportunity_states_current_milestone_id_milestones"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_states_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["crm_owners.id"],
            name=op.f("fk_opportunity_states_owner_id_crm_owners"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["processes.id"],
            name=op.f("fk_opportunity_states_process_id_processes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version_id"],
            ["ruleset_versions.id"],
            name=op.f("fk_opportunity_states_ruleset_version_id_ruleset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opportunity_id", name=op.f("pk_opportunity_states")),
    )
    with op.batch_alter_table("opportunity_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunity_states_owner_id_outcome"),
            ["owner_id", "outcome"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_opportunity_states_process_id_current_position"),
            ["process_id", "current_position"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_opportunity_states_team_outcome"), ["team", "outcome"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opportunity_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_states_team_outcome"))
        batch_op.drop_index(batch_op.f("ix_opportunity_states_process_id_current_position"))
        batch_op.drop_index(batch_op.f("ix_opportunity_states_owner_id_outcome"))

    op.drop_table("opportunity_states")
    with op.batch_alter_table("milestone_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_events_opportunity_id_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_milestone_events_milestone_id_occurred_at"))
        batch_op.drop_index(
            batch_op.f(
                "ix_milestone_events_evidence_connection_id_evidence_stream_evidence_external_id"
            )
        )

    op.drop_table("milestone_events")
    op.drop_table("sync_run_streams")
    with op.batch_alter_table("quarantined_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_records_connection_id_stream_resolved_at"))

    op.drop_table("quarantined_records")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunities_owner_id_outcome"))
        batch_op.drop_index(batch_op.f("ix_opportunities_connection_id_account_external_id"))

    op.drop_table("opportunities")
    op.drop_table("milestones")
    with op.batch_alter_table("writeback_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_writeback_runs_connection_id_started_at"))

    op.drop_table("writeback_runs")
    with op.batch_alter_table("writeback_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_writeback_records_connection_id_next_attempt_at"))

    op.drop_table("writeback_records")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_connection_id_started_at"))

    op.drop_table("sync_runs")
    op.drop_table("stream_cursors")
    with op.batch_alter_table("raw_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_records_connection_id_synced_at"))
        batch_op.drop_index(batch_op.f("ix_raw_records_connection_id_stream_modified_at"))

    op.drop_table("raw_records")
    op.drop_table("processes")
    with op.batch_alter_table("crm_owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_owners_team"))

    op.drop_table("crm_owners")
    with op.batch_alter_table("ruleset_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ruleset_versions_is_active"))

    op.drop_table("ruleset_versions")
    op.drop_table("connections")
    op.drop_table("api_keys")
