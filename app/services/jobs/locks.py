"""Locks that live exactly as long as a process: who leads the schedule, who syncs a connection.

On PostgreSQL they are session-level advisory locks held on a dedicated connection. When the
process dies, even by SIGKILL, the server ends its session and frees its locks at once; TCP
keep-alives end the session of a machine that vanished within about a minute. Keys hash the
schema name with the lock's name, so deployments (and test runs) in different schemas of one
database never block each other.

On SQLite one worker process serves a database file (`ProcessLock`, an flock beside it), and
the locks are held in that process's memory.

Every lock is named here (`LEADER_LOCK`, `sync_lock_name`, `mapping_lock_name`) and keyed by
`lock_key`, so that `held_locks` (and with it `milestones status`) sees each one.

    locks = LockSession.open(database)
    if locks.try_lock("sync:42"):
        ...                                  # nobody else syncs connection 42 now
        locks.unlock("sync:42")
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import Connection as DbConnection
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.core.database import Database, create_db_engine
from app.core.errors import ConflictError

__all__ = [
    "LEADER_LOCK",
    "LockSession",
    "ProcessLock",
    "advisory_lock",
    "held_locks",
    "lock_key",
    "mapping_lock_name",
    "sync_lock_name",
]

LEADER_LOCK = "leader"
"""Held by the one worker that runs the schedule."""


def sync_lock_name(connection_id: int) -> str:
    """Held by the worker syncing a connection."""
    return f"sync:{connection_id}"


def mapping_lock_name(version_id: int, connection_id: int) -> str:
    """Held by the mapping run deriving a connection's events for a ruleset version."""
    return f"mapping:{version_id}:{connection_id}"


# Dead peers: first probe after 10 s idle, then every 5 s, given up after 4 unanswered.
_KEEPALIVES = (
    "tcp_keepalives_idle = 10",
    "tcp_keepalives_interval = 5",
    "tcp_keepalives_count = 4",
)


def lock_key(schema: str, name: str) -> int:
    """The signed 64-bit advisory lock key for `name` within `schema`."""
    digest = hashlib.blake2b(f"milestones:{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _schema(connection: DbConnection) -> str:
    return str(connection.execute(text("SELECT current_schema()")).scalar_one())


@contextlib.contextmanager
def advisory_lock(db: DbConnection, name: str, busy: str) -> Iterator[None]:
    """Hold lock `name` on this connection for the block (PostgreSQL; SQLite serialises
    writers itself); `ConflictError(busy)` when another session holds it."""
    if db.dialect.name != "postgresql":
        yield
        return
    with db.begin():
        key = lock_key(_schema(db), name)
        acquired = db.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
    if not acquired:
        raise ConflictError(busy)
    try:
        yield
    finally:
        with db.begin():
            db.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


class _LocalRegistry:
    """Locks held by this process, per database URL (SQLite: the only process)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: dict[tuple[str, str], object] = {}

    def acquire(self, url: str, name: str, owner: object) -> bool:
        with self._guard:
            holder = self._held.get((url, name))
            if holder is not None and holder is not owner:
                return False
            self._held[(url, name)] = owner
            return True

    def release(self, url: str, name: str, owner: object) -> None:
        with self._guard:
            if self._held.get((url, name)) is owner:
                del self._held[(url, name)]

    def names(self, url: str) -> set[str]:
        with self._guard:
            return {name for (held_url, name) in self._held if held_url == url}


_LOCAL = _LocalRegistry()


class LockSession:
    """One holder of named locks: a dedicated database session on PostgreSQL."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.is_postgres = not database.is_sqlite
        self._held: set[str] = set()
        self._connection: DbConnection | None = None
        self._schema = ""
        if self.is_postgres:
            engine = create_db_engine(database.url, poolclass=NullPool)
            self._engine = engine
            self._connection = engine.connect()
            with self._connection.begin():
                for setting in _KEEPALIVES:
                    self._connection.execute(text(f"SET {setting}"))
                self._schema = _schema(self._connection)

    @classmethod
    def open(cls, database: Database) -> LockSession:
        return cls(database)

    @property
    def connection(self) -> DbConnection | None:
        """The session the locks live in (PostgreSQL), for claims made under them."""
        return self._connection

    def key(self, name: str) -> int:
        return lock_key(self._schema, name)

    def try_lock(self, name: str) -> bool:
        if name in self._held:
            return True
        if self._connection is None:
            acquired = _LOCAL.acquire(self.database.url, name, self)
        else:
            acquired = bool(self._execute("SELECT pg_try_advisory_lock(:k)", {"k": self.key(name)}))
        if acquired:
            self._held.add(name)
        return acquired

    def unlock(self, name: str) -> None:
        if name not in self._held:
            return
        self._held.discard(name)
        if self._connection is None:
            _LOCAL.release(self.database.url, name, self)
            return
        with contextlib.suppress(SQLAlchemyError):  # a lost session took its locks with it
            self._execute("SELECT pg_advisory_unlock(:k)", {"k": self.key(name)})

    def alive(self) -> bool:
        """Whether the locks are still held: the session still answers."""
        if self._connection is None:
            return True
        try:
            self._execute("SELECT 1", {})
        except SQLAlchemyError:
            return False
        return True

    def _execute(self, sql: str, params: dict[str, int]) -> object:
        assert self._connection is not None
        if self._connection.in_transaction():
            return self._connection.execute(text(sql), params).scalar()
        with self._connection.begin():
            return self._connection.execute(text(sql), params).scalar()

    def close(self) -> None:
        for name in list(self._held):
            self.unlock(name)
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.close()
            self._engine.dispose()
            self._connection = None


def held_locks(database: Database, names: list[str]) -> dict[str, int | None]:
    """Which of `names` some session holds now: the holder's backend pid (PostgreSQL) or 0
    (SQLite, held by a worker in this process); None when free."""
    if database.is_sqlite:
        mine = _LOCAL.names(database.url)
        return {name: (0 if name in mine else None) for name in names}
    with database.engine.connect() as connection:
        schema = _schema(connection)
        rows = connection.execute(
            text(
                "SELECT classid::bigint, objid::bigint, pid FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).all()
    holders = {(int(row[0]) << 32) | int(row[1]): int(row[2]) for row in rows}
    found: dict[str, int | None] = {}
    for name in names:
        unsigned = lock_key(schema, name) & 0xFFFFFFFFFFFFFFFF
        found[name] = holders.get(unsigned)
    return found


class ProcessLock:
    """One worker process per SQLite database file: an exclusive flock on `<file>.worker.lock`."""

    def __init__(self, database: Database) -> None:
        path = make_url(database.url).database or ""
        self.path = Path(f"{path}.worker.lock") if path and path != ":memory:" else None
        self._handle: IO[str] | None = None

    def acquire(self) -> ProcessLock:
        if self.path is None:
            return self
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ConflictError(
                f"a worker ({holder}) already serves this SQLite database; SQLite runs one "
                "worker process — use PostgreSQL (DATABASE_URL) to run several"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def held_elsewhere(self) -> bool:
        """Whether some process holds the lock now (for `milestones status`)."""
        if self.path is None or not self.path.exists():
            return False
        if self._handle is not None:
            return True
        with self.path.open("a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
