"""API keys for admins: create (the key is shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from app.api.deps import SessionDep
from app.services.access import api_keys as service
from app.services.access.public import KeyCreated, KeyPublic, KeysPublic, key_created

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["sales dashboard"])
    role: str = Field(examples=["manager"], description="admin, ops, manager or rep")
    owner: str | None = Field(
        default=None, max_length=64, description="For a rep: the rep's CRM owner id."
    )


@router.get("", response_model=KeysPublic, summary="List API keys (never the keys themselves)")
def list_keys(session: SessionDep) -> KeysPublic:
    rows = service.list_keys(session)
    return KeysPublic(data=rows, count=len(rows))


@router.post(
    "", response_model=KeyCreated, status_code=status.HTTP_201_CREATED, summary="Create a key"
)
def create_key(body: KeyCreate, session: SessionDep) -> KeyCreated:
    row, secret = service.create_key(session, body.name, body.role, body.owner)
    return key_created(row, secret)


@router.delete("/{key}", response_model=KeyPublic, summary="Revoke a key (by id or prefix)")
def revoke_key(key: str, session: SessionDep) -> KeyPublic:
    return service.revoke_key(session, key)  # every process refuses it at its next request
