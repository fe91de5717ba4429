"""Engine, sessions and schema migrations.

Alembic owns the schema: `upgrade()` is how a database gets its tables, in tests, in the CLI
and when `milestones serve` starts on an embedded SQLite file. `Database.prepare_schema()` is
the one rule every entry point follows: an embedded SQLite file is migrated on first use; a
PostgreSQL schema is upgraded by its operator (`milestones db upgrade`), never behind their back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import DatabaseError

__all__ = [
    "Database",
    "alembic_config",
    "create_db_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "redact_url",
    "sqlite_file",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def redact_url(url: str) -> str:
    """The URL as it may appear in logs and messages: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparseable URL>"


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names; None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().resolve()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 8 MiB per connection: a 1M-row raw upsert stores as fast as with 64 MiB (bench
    # raw_upsert), and the page cache stays a small part of a sync's memory
    cursor.execute("PRAGMA cache_size=-8192")
    cursor.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned per backend: SQLite in WAL mode with foreign keys; PostgreSQL pre-pinged.

    JSON columns use orjson: raw payloads are the bulk of what the service writes and reads.
    """
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            event.listen(engine, "do_connect", lambda *_: _owner_only(path))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {"connect_timeout": 10})
    return create_engine(url, **kwargs)


def _owner_only(path: Path) -> None:
    """Create the SQLite file readable by its owner alone (0600, as the key file), before
    SQLite would create it with the process's umask: it holds sealed credentials and every
    customer's records."""
    if path.parent.is_dir() and not path.exists():
        with suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations/ has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


class Database:
    """One engine and its session factory; the unit the API, CLI and workers share."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def check_reachable(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"cannot reach the database at {redact_url(self.url)}: "
                f"{_first_line(exc)} — check DATABASE_URL and that the server is running"
            ) from None

    def is_at_head(self) -> bool:
        return current_revision(self.engine) == head_revision()

    def upgrade(self) -> None:
        upgrade(self.engine)

    def prepare_schema(self) -> None:
        """Bring the schema to the latest revision where that is ours to do, or say what to run.

        SQLite (embedded, one machine) is migrated on first use; on PostgreSQL a schema that is
        behind is an operator's decision, so it raises one line naming `milestones db upgrade`.
        """
        current, head = current_revision(self.engine), head_revision()
        if current == head:
            return
        if self.is_sqlite:
            try:
                self.upgrade()
            except CommandError as exc:  # a revision this version does not know: newer
                raise DatabaseError(
                    f"cannot migrate {redact_url(self.url)}: {_first_line(exc)} — it was made "
                    "by a newer version of milestones; upgrade milestones"
                ) from None
            return
        state = "has no tables yet" if current is None else f"is at revision {current}"
        raise DatabaseError(
            f"the database schema at {redact_url(self.url)} {state}, this version needs "
            f"{head}: run `milestones db upgrade`"
        )

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
