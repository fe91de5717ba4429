"""Connections for admins: add, list, check and remove CRM connections; start a sync.

Credentials go in and never come out: responses show which secrets are set, not their values.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from app.api.deps import DatabaseDep, SecretBoxDep, SessionDep
from app.services.connections import registry as service
from app.services.connections.changes import update_connection
from app.services.connections.check import CheckReport, check_connection
from app.services.connections.public import (
    ConnectionPublic,
    ConnectionsPublic,
    ConnectionUpdated,
    connection_public,
    connection_updated,
)
from app.services.jobs.queue import enqueue

router = APIRouter(prefix="/api/v1/connections", tags=["connections"])


class ConnectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    settings: dict[str, Any] = Field(
        examples=[
            {
                "kind": "salesforce",
                "auth_flow": "client_credentials",
                "token_url": "https://acme.my.salesforce.com/services/oauth2/token",
                "client_id": "3MVG9...",
            }
        ]
    )
    secrets: dict[str, str] = Field(default_factory=dict, examples=[{"client_secret": "..."}])
    sync_interval_seconds: int = Field(default=300, ge=30, le=86_400)


class ConnectionUpdate(BaseModel):
    """What to change; what is left out stays. Each settings key given replaces the stored one."""

    settings: dict[str, Any] = Field(
        default_factory=dict, examples=[{"extra_fields": {"Opportunity": ["Segment__c"]}}]
    )
    secrets: dict[str, str] = Field(default_factory=dict, examples=[{"client_secret": "..."}])
    sync_interval_seconds: int | None = Field(default=None, ge=30, le=86_400)
    enabled: bool | None = None


class SyncQueued(BaseModel):
    connection: str
    job_id: int
    status: str = "queued"


@router.get("", response_model=ConnectionsPublic, summary="List connections")
def list_connections(session: SessionDep, box: SecretBoxDep) -> ConnectionsPublic:
    rows = [connection_public(connection, box) for connection in service.list_connections(session)]
    return ConnectionsPublic(data=rows, count=len(rows))


@router.post(
    "",
    response_model=ConnectionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a connection (credentials are encrypted at rest and never returned)",
)
def create_connection(
    body: ConnectionCreate, session: SessionDep, box: SecretBoxDep
) -> ConnectionPublic:
    connection = service.create_connection(
        session,
        box,
        name=body.name,
        settings=body.settings,
        secrets=body.secrets,
        sync_interval_seconds=body.sync_interval_seconds,
    )
    return connection_public(connection, box)


@router.get("/{name}", response_model=ConnectionPublic, summary="One connection")
def get_connection(name: str, session: SessionDep, box: SecretBoxDep) -> ConnectionPublic:
    return connection_public(service.get_connection(session, name), box)


@router.patch(
    "/{name}",
    response_model=ConnectionUpdated,
    summary="Change settings or secrets (streams that gain fields are read whole next sync)",
)
def patch_connection(
    name: str, body: ConnectionUpdate, session: SessionDep, box: SecretBoxDep
) -> ConnectionUpdated:
    change = update_connection(
        session,
        box,
        name,
        settings=body.settings,
        secrets=body.secrets,
        sync_interval_seconds=body.sync_interval_seconds,
        enabled=body.enabled,
    )
    return connection_updated(change, box)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a connection")
def remove_connection(name: str, session: SessionDep) -> None:
    service.remove_connection(session, name)


@router.post(
    "/{name}/test",
    response_model=CheckReport,
    summary="Check credentials and object/field permissions",
)
def test_connection(
    name: str, session: SessionDep, box: SecretBoxDep, database: DatabaseDep
) -> CheckReport:
    connection = service.get_connection(session, name)
    return check_connection(connection, box, database=database)


@router.post(
    "/{name}/sync",
    response_model=SyncQueued,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue an incremental sync for the workers (merged into one already queued)",
)
def queue_sync(
    name: str,
    session: SessionDep,
    database: DatabaseDep,
    streams: Annotated[list[str] | None, Body(embed=True)] = None,
) -> SyncQueued:
    connection = service.get_connection(session, name)
    job_id = enqueue(database, connection.id, "api", streams)
    return SyncQueued(connection=name, job_id=job_id)
