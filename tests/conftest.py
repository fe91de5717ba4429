"""Shared fixtures: every database test runs on SQLite, or on PostgreSQL when
TEST_DATABASE_URL points at one (`.ci/run` runs the suite both ways).

On PostgreSQL each pytest worker gets schemas of its own, created fresh, so parallel workers
and repeated runs never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.crypto import SecretBox, generate_key
from app.core.database import Database, upgrade
from app.models import Base
from sandbox.history import build_params, generate

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


class FreshDatabases:
    """Makes empty databases: SQLite files in a temp dir, or PostgreSQL schemas."""

    def __init__(self, tmp_dir: Path, worker: str) -> None:
        self.tmp_dir = tmp_dir
        self.worker = worker
        self.schemas: list[str] = []

    def url(self, name: str) -> str:
        if not ON_POSTGRES:
            path = self.tmp_dir / f"{name}-{uuid.uuid4().hex[:8]}.db"
            return f"sqlite:///{path}"
        schema = f"t_{self.worker}_{name}_{uuid.uuid4().hex[:6]}".lower()
        admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        self.schemas.append(schema)
        options = quote(f"-csearch_path={schema}")
        separator = "&" if "?" in TEST_DATABASE_URL else "?"
        return f"{TEST_DATABASE_URL}{separator}options={options}"

    def drop_all(self) -> None:
        if not ON_POSTGRES or not self.schemas:
            return
        admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for schema in self.schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def fresh_databases(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[FreshDatabases]:
    databases = FreshDatabases(tmp_path_factory.mktemp("databases"), worker_id)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def migrated_database(fresh_databases: FreshDatabases) -> Iterator[Database]:
    """One database per worker, migrated to head once by Alembic (never `create_all`)."""
    database = Database(fresh_databases.url("main"))
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def db(migrated_database: Database) -> Iterator[Database]:
    """The migrated database, emptied after the test."""
    yield migrated_database
    with migrated_database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def empty_database_url(fresh_databases: FreshDatabases) -> str:
    """A database with no tables at all."""
    return fresh_databases.url("empty")


@pytest.fixture(scope="session")
def box() -> SecretBox:
    """A key ring for sealing connection credentials (it holds no state: one per worker)."""
    return SecretBox([generate_key().encode()])


@pytest.fixture(scope="session")
def sales_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small generated sales history (seed 5, 10 days of changes still to come) as an
    export folder, generated once per worker; tests only read it."""
    out = tmp_path_factory.mktemp("history")
    generate(build_params(seed=5, size="small", future_days=10), out)
    return out


def backend_name(url: str) -> str:
    return make_url(url).get_backend_name()
