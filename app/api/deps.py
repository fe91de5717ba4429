"""Dependencies shared by routes, as `Annotated` aliases."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection as DbConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.caching import BoundedCache
from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import ForbiddenError, UnauthorizedError
from app.core.settings import Settings
from app.services.access.api_keys import (
    InvalidKeyError,
    Principal,
    authenticate,
    is_revoked,
    touch,
)
from app.services.jobs.metrics import Metrics
from app.services.kpis.keeper import Keeper
from app.services.kpis.store import KpiStore

__all__ = ["DatabaseDep", "MetricsDep", "SecretBoxDep", "SessionDep", "SettingsDep"]
__all__ += ["KpiStoreDep", "PrincipalDep", "RevocationReader", "kpi_store_of", "require"]
__all__ += ["keeper_of"]

TOUCH_SECONDS = 60.0
_touched = BoundedCache[int, bool](
    "keys whose last use was recorded lately: one write per key a minute, not per request",
    size=10_000,
    ttl=TOUCH_SECONDS,
)


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session() as session:
        yield session


def get_secret_box(request: Request) -> SecretBox:
    box: SecretBox | None = getattr(request.app.state, "secret_box", None)
    if box is None:
        box = SecretBox.from_settings(request.app.state.settings)
        request.app.state.secret_box = box
    return box


_metrics_lock = threading.Lock()


def get_metrics(request: Request) -> Metrics:
    with _metrics_lock:  # one registry per app: counts must not split between two
        metrics: Metrics | None = getattr(request.app.state, "metrics", None)
        if metrics is None:
            metrics = Metrics(request.app.state.database)
            request.app.state.metrics = metrics
        return metrics


KEY_CACHE_SECONDS = 300.0
"""How long a verified key's role and owner are kept in this process; whether it is revoked
is read on every request, so a revocation anywhere stops it at once."""
_verified = BoundedCache[str, Principal](
    "verified API keys by digest: the key's hash and role are not looked up on every request",
    size=10_000,
    ttl=KEY_CACHE_SECONDS,
)


class RevocationReader:
    """One connection, kept open in autocommit, for the revocation read every request makes:
    a primary-key read on it costs microseconds where a pool checkout costs a millisecond.
    Used from the event loop's thread only; a broken connection is replaced once."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: DbConnection | None = None

    def revoked(self, key_id: int) -> bool:
        for attempt in (1, 2):
            try:
                if self._connection is None:
                    self._connection = self.database.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                return is_revoked(self._connection, key_id)
            except SQLAlchemyError:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.close()
            self._connection = None


def _verify(database: Database, key: str) -> Principal:
    with database.session() as session:
        try:
            principal = authenticate(session, key)
        except InvalidKeyError:
            raise UnauthorizedError("the API key is malformed, unknown or revoked") from None
        if _touched.add(principal.key_id, True):
            touch(session, principal.key_id)
    return principal


async def get_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>` or `X-API-Key: <key>`.

    A key verified in the last `KEY_CACHE_SECONDS` is not hashed and looked up again; only
    whether it was revoked since is read (one primary-key read), so revocation is immediate
    in every API process.
    """
    header = request.headers.get("authorization", "")
    key = request.headers.get("x-api-key", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise UnauthorizedError("Authorization: expected 'Bearer <API key>'")
        key = value.strip()
    if not key:
        raise UnauthorizedError(
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
    digest = hashlib.sha256(key.encode()).hexdigest()
    database = request.app.state.database
    principal = _verified.get(digest)
    if principal is None:
        principal = await run_in_threadpool(_verify, database, key)
        _verified.put(digest, principal)
    elif request.app.state.revocations.revoked(principal.key_id):
        _verified.discard(digest)
        raise UnauthorizedError("the API key is malformed, unknown or revoked")
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets only these roles through (admin always)."""
    allowed = {"admin", *roles}

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(
                f"a {principal.role} key cannot do this; it needs one of: "
                + ", ".join(sorted(allowed))
            )
        return principal

    return check


_store_lock = threading.Lock()


def kpi_store_of(app: Any) -> KpiStore:
    """The app's KPI view: refreshed on a thread of its own, never in a request."""
    with _store_lock:
        store: KpiStore | None = getattr(app.state, "kpi_store", None)
        if store is None:
            settings: Settings = app.state.settings
            store = KpiStore(
                app.state.database, background=True, as_of_setting=settings.kpi_as_of_value
            )
            app.state.kpi_store = store
        return store


def keeper_of(app: Any) -> Keeper:
    """The app's keeper of slow KPI answers (the backtest, the candidate milestones), over its
    one KPI view."""
    store = kpi_store_of(app)
    with _store_lock:
        keeper: Keeper | None = getattr(app.state, "kpi_keeper", None)
        if keeper is None:
            keeper = app.state.kpi_keeper = Keeper(store)
        return keeper


async def get_kpi_store(request: Request) -> KpiStore:
    return kpi_store_of(request.app)


DatabaseDep = Annotated[Database, Depends(get_database)]
KpiStoreDep = Annotated[KpiStore, Depends(get_kpi_store)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
