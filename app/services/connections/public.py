"""What a connection looks like from outside: its settings and which secrets are set, never
their values. The API and `milestones connections ... --json` both answer with these models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.core.crypto import SecretBox
from app.core.errors import SecretError
from app.models import Connection
from app.services.connections.changes import ConnectionChange
from app.services.connections.registry import SECRET_NAMES

__all__ = [
    "ConnectionPublic",
    "ConnectionUpdated",
    "ConnectionsPublic",
    "connection_public",
    "connection_updated",
]


class ConnectionPublic(BaseModel):
    id: int
    name: str
    kind: str
    enabled: bool
    sync_interval_seconds: int
    settings: dict[str, Any]
    secrets_set: list[str]
    credentials_problem: str | None = Field(
        default=None,
        description="Why the stored credentials cannot be read (e.g. the secret key changed); "
        "the connection cannot sync until they are set again.",
    )


class ConnectionUpdated(ConnectionPublic):
    reread_streams: list[str] = Field(
        default_factory=list,
        description="Streams that gained fields: the next sync reads them whole.",
    )


class ConnectionsPublic(BaseModel):
    data: list[ConnectionPublic]
    count: int


def connection_public(connection: Connection, box: SecretBox) -> ConnectionPublic:
    # the secret names given, not what the sync keeps beside them (a refreshed token)
    problem: str | None = None
    try:
        given = set(box.open(connection.credentials_sealed)) & set(SECRET_NAMES[connection.kind])
    except SecretError as error:  # listed all the same, saying what to fix
        given, problem = set(), error.detail
    return ConnectionPublic(
        id=connection.id,
        name=connection.name,
        kind=connection.kind,
        enabled=connection.enabled,
        sync_interval_seconds=connection.sync_interval_seconds,
        settings=connection.settings,
        secrets_set=sorted(given),
        credentials_problem=problem,
    )


def connection_updated(change: ConnectionChange, box: SecretBox) -> ConnectionUpdated:
    public = connection_public(change.connection, box)
    return ConnectionUpdated(**public.model_dump(), reread_streams=change.reread)
