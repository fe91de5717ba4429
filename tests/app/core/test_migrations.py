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
