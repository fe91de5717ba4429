"""What an API key looks like from outside: its prefix, role and dates, never the key itself
(except once, in `KeyCreated`). The API and `milestones keys ... --json` answer with these."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.core.timestamps import IsoDateTime
from app.models import ApiKey

__all__ = ["KeyCreated", "KeyPublic", "KeysPublic", "key_created", "key_public"]


class KeyPublic(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    owner: str | None
    created_at: IsoDateTime
    last_used_at: IsoDateTime | None
    revoked_at: IsoDateTime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The key itself: shown this once, never stored.")


class KeysPublic(BaseModel):
    data: list[KeyPublic]
    count: int


def key_public(row: ApiKey) -> KeyPublic:
    return KeyPublic(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=row.role,
        owner=row.owner_external_id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def key_created(row: ApiKey, secret: str) -> KeyCreated:
    return KeyCreated(**key_public(row).model_dump(), key=secret)
