"""HubSpot credentials: a private app's access token, or an OAuth app's refresh token.

A private-app token does not expire; a rejected one is an error to fix. An OAuth access token
lives 30 minutes (`expires_in`): with a refresh token and the app's client id and secret
configured, the client asks `POST /oauth/v1/token` for a fresh one when it has none, when it
is about to expire, or when HubSpot rejects it.

A refresh may rotate the refresh token, so the answer must reach storage at once: with a
`TokenVault` (the connection's sealed credentials), every refresh goes through it, and every
run and worker reuses the stored access token until it expires instead of refreshing again.

    auth = HubSpotAuth(access_token="pat-...")
    auth = HubSpotAuth(refresh_token="...", client_id="...", client_secret="...", vault=vault)
    token = auth.refresh()                  # a new (or another worker's newer) access token
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.oauth.exceptions import ApiException
from urllib3.util.retry import Retry

from connectors.core.classify import CONNECT_TIMEOUT, connection_failure, http_failure
from connectors.core.errors import AuthenticationError
from connectors.hubspot.tokens import EARLY, OAuthTokens, TokenVault

__all__ = ["EARLY", "HubSpotAuth", "OAuthTokens", "TokenVault"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class HubSpotAuth:
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    oauth_base_url: str = "https://api.hubapi.com"
    expires_at: datetime | None = None
    vault: TokenVault | None = field(default=None, repr=False, compare=False)
    clock: Callable[[], datetime] = field(default=_utcnow, repr=False, compare=False)
    token_calls: int = 0

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.client_id and self.client_secret)

    @property
    def stale(self) -> bool:
        """An OAuth access token is missing or about to expire: refresh before the call."""
        current = OAuthTokens(self.access_token, self.refresh_token, self.expires_at)
        return self.can_refresh and not current.usable(self.clock())

    def check(self) -> None:
        if not self.access_token and not self.can_refresh:
            raise AuthenticationError(
                "HubSpot connection has no credentials: give it a private app's access_token, "
                "or an OAuth refresh_token with the app's client_id and client_secret"
            )

    def refresh(self) -> str:
        """A new access token (through the vault when there is one), kept with its expiry."""
        if not self.can_refresh:
            raise AuthenticationError(
                "HubSpot rejected the access token and no OAuth refresh is configured "
                "(refresh_token, client_id, client_secret)"
            )
        if self.vault is not None:
            tokens = self.vault.exchange(self.access_token, self._request)
        else:
            tokens = self._request(self.refresh_token)
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token or self.refresh_token
        self.expires_at = tokens.expires_at
        return tokens.access_token

    def _request(self, refresh_token: str) -> OAuthTokens:
        """One call to the token endpoint."""
        self.token_calls += 1
        client = HubSpot(host=self.oauth_base_url, retry=Retry(total=0, raise_on_status=False))
        try:
            response: Any = client.oauth.tokens_api.create(
                grant_type="refresh_token",
                client_id=self.client_id,
                client_secret=self.client_secret,
                refresh_token=refresh_token,
                _preload_content=False,
                _request_timeout=(CONNECT_TIMEOUT, 30.0),
            )
            body = json.loads(response.data)
        except urllib3.exceptions.HTTPError as error:
            raise connection_failure(error, "HubSpot", self.oauth_base_url) from None
        except ValueError:
            raise AuthenticationError("HubSpot token endpoint sent an unreadable answer") from None
        except ApiException as error:
            status = error.status
            if not status:  # the generated client's name for a TLS failure
                raise connection_failure(error, "HubSpot", self.oauth_base_url) from None
            if status in (408, 429) or status >= 500:
                raise http_failure(
                    "HubSpot", status, "the token refresh", str(error.reason)
                ) from None
            raw = error.body or b""
            try:
                detail = json.loads(raw)
                code = detail.get("status") or detail.get("error") or ""
                message = detail.get("message") or detail.get("error_description") or raw
            except (ValueError, AttributeError):
                code, message = "", raw[:200]
            raise AuthenticationError(
                f"HubSpot refused the OAuth refresh ({status} {code!s}): {message!s} — "
                "reconnect the app (a new refresh token) or check its client id and secret"
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError("HubSpot's token answer has no access_token")
        rotated = body.get("refresh_token")
        lifetime = body.get("expires_in")
        seconds = lifetime if isinstance(lifetime, int | float) and lifetime > 0 else None
        return OAuthTokens(
            token,
            rotated if isinstance(rotated, str) and rotated else refresh_token,
            self.clock() + timedelta(seconds=seconds) if seconds is not None else None,
        )
