"""The database a benchmark case runs on: a SQLite file, or a fresh PostgreSQL schema in
BENCH_POSTGRES_URL (default: the local test server)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def database_url(backend: str, sqlite_file: Path, schema: str) -> str:
    """`sqlite_file` for backend `sqlite`; otherwise `schema` in POSTGRES_URL, dropped and
    created empty, as the search path."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_file}"
    _execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}")
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def migrated_with_connection(url: str) -> tuple[Any, int]:
    """A migrated database at `url` holding one Salesforce connection the benchmark stores its
    records under: (the `Database`, the connection's id)."""
    from app.core.database import Database, upgrade
    from app.models import Connection

    database = Database(url)
    upgrade(database.engine)
    with database.session() as session:
        row = Connection(name="bench", kind="salesforce", credentials_sealed="-")
        session.add(row)
        session.flush()
        return database, row.id


def drop_schema(backend: str, schema: str) -> None:
    """Drops what `database_url` created (nothing on SQLite: the file goes with its folder)."""
    if backend != "sqlite":
        _execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _execute(*statements: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    admin.dispose()
