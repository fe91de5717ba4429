"""HubSpot OAuth tokens as stored between runs, and where they are stored: plain data, so the
storage side reads them without loading the HubSpot client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["EARLY", "OAuthTokens", "TokenVault"]

EARLY = timedelta(minutes=1)
"""An access token this close to its expiry is refreshed before use, not sent to fail."""


@dataclass(frozen=True)
class OAuthTokens:
    """One answer of the token endpoint, as stored between runs."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return bool(self.access_token) and (
            self.expires_at is None or now < self.expires_at - EARLY
        )


class TokenVault(Protocol):
    """Where refreshed tokens live, shared by runs and workers (connectors never see a DB)."""

    def exchange(self, rejected: str, refresh: Callable[[str], OAuthTokens]) -> OAuthTokens:
        """Under the connection's lock: the stored tokens when they are usable and not the
        `rejected` access token, else `refresh(stored refresh token)`, stored before returning."""
        ...
