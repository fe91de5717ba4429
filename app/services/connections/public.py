"""What a connection looks like from outside: its settings and which secrets are set, never
their values. The API and `milestones connections ... --json` both answer with these models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.core.crypto import SecretBox
from app.models import Connection
from app.services.connections.registry import SECRET_NAMES

__all__ = ["ConnectionPublic", "ConnectionsPublic", "connection_public"]


class ConnectionPublic(BaseModel):
    id: int
    name: str
    kind: str
    enabled: bool
    sync_interval_seconds: int
    settings: dict[str, Any]
    secrets_set: list[str]


class ConnectionsPublic(BaseModel):
    data: list[ConnectionPublic]
    count: int


def connection_public(connection: Connection, box: SecretBox) -> ConnectionPublic:
    # the secret names given, not what the sync keeps beside them (a refreshed token)
    given = set(box.open(connection.credentials_sealed)) & set(SECRET_NAMES[connection.kind])
    return ConnectionPublic(
        id=connection.id,
        name=connection.name,
        kind=connection.kind,
        enabled=connection.enabled,
        sync_interval_seconds=connection.sync_interval_seconds,
        settings=connection.settings,
        secrets_set=sorted(given),
    )
