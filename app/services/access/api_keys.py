"""API keys: created with a role, shown once, stored only as a hash, revocable.

A key reads `msk_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole key is
compared in constant time. Keys are 190 bits of randomness, so a fast hash is enough (no
password stretching needed). Roles: admin (connections, keys, everything), ops (mappings),
manager (every KPI), rep (their own KPIs and opportunities; the key names the rep's CRM id).

    key, secret = create_key(session, "dashboard", "manager")
    principal = authenticate(session, secret)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import get_args

from sqlalchemy import Connection as DbConnection
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequestError, NotFoundError
from app.models import ApiKey, Role
from app.models.base import MAX_BIGINT, utcnow
from app.services.access.public import KeyPublic, key_public

__all__ = [
    "ROLES",
    "InvalidKeyError",
    "Principal",
    "authenticate",
    "create_key",
    "list_keys",
    "revoke_key",
]

ROLES: tuple[str, ...] = get_args(Role)
_KEY = re.compile(r"^msk_([A-Za-z0-9]{10})_([A-Za-z0-9_-]{32,64})$")


class InvalidKeyError(Exception):
    """The key is malformed, unknown or revoked (deliberately not saying which)."""


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: str
    owner: str | None
    """For reps: their CRM owner id."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session, name: str, role: str, owner: str | None = None
) -> tuple[ApiKey, str]:
    if role not in ROLES:
        raise InvalidRequestError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "rep" and not owner:
        raise InvalidRequestError("a rep's key needs the rep's CRM owner id (owner)")
    if role != "rep" and owner:
        raise InvalidRequestError("only rep keys name an owner")
    if not name.strip() or len(name) > 100:
        raise InvalidRequestError("name must be 1 to 100 characters")
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(10))
    secret = f"msk_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name, prefix=prefix, key_hash=_hash(secret), role=role, owner_external_id=owner
    )
    session.add(row)
    session.flush()
    return row, secret


def authenticate(session: Session, key: str) -> Principal:
    match = _KEY.match(key)
    if match is None:
        raise InvalidKeyError("malformed")
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    if row is None or row.revoked_at is not None:
        raise InvalidKeyError("unknown or revoked")
    if not hmac.compare_digest(row.key_hash, _hash(key)):
        raise InvalidKeyError("unknown")
    return Principal(row.id, row.name, row.role, row.owner_external_id)


def list_keys(session: Session) -> list[KeyPublic]:
    return [key_public(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(session: Session, key: str) -> KeyPublic:
    """Revoke by id or prefix."""
    query = select(ApiKey)
    if key.isdigit() and int(key) > MAX_BIGINT:  # no such id; the database would overflow
        raise NotFoundError(f"no API key {key!r}")
    query = (
        query.where(ApiKey.id == int(key)) if key.isdigit() else query.where(ApiKey.prefix == key)
    )
    row = session.scalar(query)
    if row is None:
        raise NotFoundError(f"no API key {key!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return key_public(row)


def is_revoked(connection: DbConnection, key_id: int) -> bool:
    """Whether the key is revoked (or gone): one primary-key read, made on every request."""
    row = connection.execute(_REVOKED_AT, {"id": key_id}).first()
    return row is None or row[0] is not None


_REVOKED_AT = select(ApiKey.revoked_at).where(ApiKey.id == bindparam("id"))


def touch(session: Session, key_id: int) -> None:
    row = session.get(ApiKey, key_id)
    if row is not None:
        row.last_used_at = utcnow()
