"""Alembic is the only source of the schema: migrations and models must agree exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.core.database import Database, current_revision, downgrade, head_revision, upgrade
from app.models import Base
from tests.conftest import FreshDatabases


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrated_schema_matches_the_models_exactly(fresh_databases: FreshDatabases) -> None:
    database = Database(fresh_databases.url("check"))
    upgrade(database.engine)
    assert _differences(database) == []
    database.dispose()


def test_upgrade_downgrade_upgrade_round_trips(fresh_databases: FreshDatabases) -> None:
    database = Database(fresh_databases.url("roundtrip"))
    upgrade(database.engine)
    assert current_revision(database.engine) == head_revision()
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables

    downgrade(database.engine, "base")
    assert current_revision(database.engine) is None
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}

    upgrade(database.engine)
    assert current_revision(database.engine) == head_revision()
    assert _differences(database) == []
    database.dispose()


def test_the_one_active_version_becomes_the_active_version_of_the_connections_it_served(
    fresh_databases: FreshDatabases,
) -> None:
    """On SQLite too, where altering `ruleset_versions` recreates the table: the rows that
    reference it stay."""
    database = Database(fresh_databases.url("activations"))
    upgrade(database.engine, "0007_sync_run_stream_bytes")
    now = "2026-01-01 00:00:00"
    with database.engine.begin() as connection:
        for statement in (
            "INSERT INTO connections (id, name, kind, settings, credentials_sealed, enabled, "
            "sync_interval_seconds, created_at, updated_at) VALUES "
            f"(1, 'acme', 'salesforce', '{{}}', 'x', true, 300, '{now}', '{now}'), "
            f"(2, 'idle', 'salesforce', '{{}}', 'x', true, 300, '{now}', '{now}')",
            "INSERT INTO ruleset_versions (id, version, name, source, checksum, is_active, "
            f"created_at, activated_at) VALUES (1, 1, 'old', '', 'a', false, '{now}', NULL), "
            f"(2, 2, 'current', '', 'b', true, '{now}', '{now}')",
            "INSERT INTO opportunities (id, connection_id, external_id, name, outcome, deleted, "
            "crm_created_at, updated_at) VALUES "
            f"(1, 1, '006A', 'Deal', 'open', false, '{now}', '{now}')",
            "INSERT INTO opportunity_states (opportunity_id, ruleset_version_id, connection_id, "
            "current_position, reached, outcome, deleted, updated_at) VALUES "
            f"(1, 2, 1, 0, '{{}}', 'open', false, '{now}')",
        ):
            connection.exec_driver_sql(statement)
    upgrade(database.engine)
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT connection_id, ruleset_version_id, ended_at FROM ruleset_activations"
        ).all()
    assert [tuple(row) for row in rows] == [(1, 2, None)]  # the never-mapped connection: none
    with database.engine.connect() as connection:  # nothing referencing the versions is lost
        kept = connection.exec_driver_sql(
            "SELECT (SELECT count(*) FROM ruleset_versions), (SELECT count(*) FROM "
            "opportunity_states)"
        ).one()
    assert tuple(kept) == (2, 1)
    downgrade(database.engine, "0007_sync_run_stream_bytes")
    with database.engine.connect() as connection:
        active = connection.exec_driver_sql(
            "SELECT version FROM ruleset_versions WHERE is_active"
        ).all()
    assert [tuple(row) for row in active] == [(2,)]
    database.dispose()


def test_events_mapped_before_eras_are_derived_again_on_the_next_pass(
    fresh_databases: FreshDatabases,
) -> None:
    """The mapping cursors go: the next pass over each connection is a full one, which gives
    the events a deletion moved their `attributed_from`; the events stay until then."""
    database = Database(fresh_databases.url("eras"))
    upgrade(database.engine, "0009_targets")
    now = "2026-01-01 00:00:00"
    with database.engine.begin() as connection:
        for statement in (
            "INSERT INTO connections (id, name, kind, settings, credentials_sealed, enabled, "
            "sync_interval_seconds, created_at, updated_at) VALUES "
            f"(1, 'acme', 'salesforce', '{{}}', 'x', true, 300, '{now}', '{now}')",
            "INSERT INTO ruleset_versions (id, version, name, source, checksum, created_at) "
            f"VALUES (1, 1, 'rules', '', 'a', '{now}')",
            "INSERT INTO mapping_cursors (ruleset_version_id, connection_id, synced_through, "
            f"updated_at) VALUES (1, 1, '{now}', '{now}')",
        ):
            connection.exec_driver_sql(statement)
    upgrade(database.engine)
    with database.engine.connect() as connection:
        cursors = connection.exec_driver_sql("SELECT count(*) FROM mapping_cursors").scalar()
        columns = {c["name"] for c in inspect(connection).get_columns("milestone_events")}
    assert cursors == 0
    assert "attributed_from" in columns
    database.dispose()
