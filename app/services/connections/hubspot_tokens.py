"""HubSpot OAuth tokens kept in the connection's sealed credentials, shared by runs and workers.

A refreshed access token is stored (encrypted, with its expiry) so the next run and every other
worker use it until it expires instead of refreshing each run; a rotated refresh token is
stored in the same transaction the moment it arrives, since the old one may already be dead.
Refreshes take the connection row's lock (PostgreSQL `FOR UPDATE`), so two workers never spend
the same refresh token: the second finds the first one's token and uses it.

    vault = StoredTokens(database, box, connection_id)
    auth = HubSpotAuth(refresh_token=..., client_id=..., client_secret=..., vault=vault)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import select

from app.core.crypto import SecretBox
from app.core.database import Database
from app.models import Connection
from connectors.hubspot.tokens import OAuthTokens

__all__ = ["EXPIRES_AT", "StoredTokens", "stored_expiry"]

log = logging.getLogger(__name__)

EXPIRES_AT = "access_token_expires_at"
"""Credential holding the stored access token's expiry (ISO 8601), sealed with the token."""


def stored_expiry(credentials: Mapping[str, str]) -> datetime | None:
    raw = credentials.get(EXPIRES_AT)
    try:
        moment = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


class StoredTokens:
    """`TokenVault` over one connection's sealed credentials."""

    def __init__(
        self,
        database: Database,
        box: SecretBox,
        connection_id: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._box = box
        self._connection_id = connection_id
        self._clock = clock

    def exchange(self, rejected: str, refresh: Callable[[str], OAuthTokens]) -> OAuthTokens:
        with self._database.session() as session:
            row = session.scalars(
                select(Connection).where(Connection.id == self._connection_id).with_for_update()
            ).one()
            values = dict(self._box.open(row.credentials_sealed))
            stored = OAuthTokens(
                values.get("access_token", ""),
                values.get("refresh_token", ""),
                stored_expiry(values),
            )
            if stored.access_token != rejected and stored.usable(self._clock()):
                return stored  # another run or worker refreshed already
            fresh = refresh(stored.refresh_token)
            values["access_token"] = fresh.access_token
            values["refresh_token"] = fresh.refresh_token
            if fresh.expires_at is not None:
                values[EXPIRES_AT] = fresh.expires_at.astimezone(UTC).isoformat()
            else:
                values.pop(EXPIRES_AT, None)
            row.credentials_sealed = self._box.seal(values)
            log.info(
                "HubSpot access token refreshed and stored",
                extra={
                    "connection_id": self._connection_id,
                    "refresh_token_rotated": fresh.refresh_token != stored.refresh_token,
                    "expires_at": values.get(EXPIRES_AT),
                },
            )
        return fresh
