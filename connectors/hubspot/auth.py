"""HubSpot credentials: a private app's access token, or an OAuth app's refresh token.

A private-app token does not expire; a rejected one is an error to fix. An OAuth access token
lives 30 minutes: with a refresh token and the app's client id and secret configured, the
client asks `POST /oauth/v1/token` for a fresh one when it has none or HubSpot rejects it.

    auth = HubSpotAuth(access_token="pat-...")
    auth = HubSpotAuth(refresh_token="...", client_id="...", client_secret="...")
    token = auth.refresh()                  # a new access token (OAuth only)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.oauth.exceptions import ApiException
from urllib3.util.retry import Retry

from connectors.core.errors import AuthenticationError, TransientError

__all__ = ["HubSpotAuth"]


@dataclass
class HubSpotAuth:
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    oauth_base_url: str = "https://api.hubapi.com"

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.client_id and self.client_secret)

    def check(self) -> None:
        if not self.access_token and not self.can_refresh:
            raise AuthenticationError(
                "HubSpot connection has no credentials: give it a private app's access_token, "
                "or an OAuth refresh_token with the app's client_id and client_secret"
            )

    def refresh(self) -> str:
        """Exchange the refresh token for a new access token (and keep it)."""
        if not self.can_refresh:
            raise AuthenticationError(
                "HubSpot rejected the access token and no OAuth refresh is configured "
                "(refresh_token, client_id, client_secret)"
            )
        client = HubSpot(host=self.oauth_base_url, retry=Retry(total=0, raise_on_status=False))
        try:
            response: Any = client.oauth.tokens_api.create(
                grant_type="refresh_token",
                client_id=self.client_id,
                client_secret=self.client_secret,
                refresh_token=self.refresh_token,
                _preload_content=False,
            )
            body = json.loads(response.data)
        except urllib3.exceptions.HTTPError as error:
            raise TransientError(f"HubSpot token endpoint unreachable: {error}") from None
        except ValueError:
            raise AuthenticationError("HubSpot token endpoint sent an unreadable answer") from None
        except ApiException as error:
            status = error.status
            if isinstance(status, int) and (status == 0 or status >= 500):
                raise TransientError(f"HubSpot token endpoint answered {status}") from None
            raw = error.body or b""
            try:
                detail = json.loads(raw)
                message = detail.get("message") or detail.get("error_description") or raw
            except ValueError:
                message = raw[:200]
            raise AuthenticationError(
                f"HubSpot refused the OAuth refresh ({status}): {message!s} — reconnect the "
                "app or check its client id and secret"
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError("HubSpot's token answer has no access_token")
        self.access_token = token
        if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
            self.refresh_token = body["refresh_token"]
        return token
