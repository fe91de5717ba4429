"""Alembic environment: migrations run on the engine the service hands over, or DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from app.core.database import create_db_engine
from app.core.settings import get_settings
from app.models import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    return create_db_engine(get_settings().effective_database_url)


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().effective_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it into a new one and dropping the old: with
            # foreign keys on, that drop would cascade deletes into every referencing table
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise RuntimeError(f"the migration left rows whose references are gone: {broken}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
