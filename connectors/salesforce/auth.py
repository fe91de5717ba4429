"""Salesforce OAuth 2.0: one token endpoint, four grants.

- `client_credentials`: a connected app acting as its integration user (the usual choice);
- `refresh_token`: a user's consent, refreshed as needed;
- `jwt`: the JWT bearer flow, signed with the connected app's private key (RS256);
- `password`: username + password (+ security token), for sandboxes and trials only.

    auth = SalesforceAuth("client_credentials", token_url, client_id, client_secret)
    token = auth.fetch(session)          # SalesforceToken(access_token, instance_url)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import jwt
import requests

from connectors.core.classify import CONNECT_TIMEOUT, connection_failure, http_failure
from connectors.core.errors import AuthenticationError

__all__ = ["JWT_GRANT", "AuthFlow", "SalesforceAuth", "SalesforceToken"]

AuthFlow = Literal["client_credentials", "refresh_token", "jwt", "password"]
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_TIMEOUT = (CONNECT_TIMEOUT, 30.0)
"""Seconds to connect to the token endpoint, and to wait for its answer."""


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class SalesforceToken:
    access_token: str = field(repr=False)
    instance_url: str


@dataclass(frozen=True)
class SalesforceAuth:
    flow: AuthFlow
    token_url: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    audience: str = "https://login.salesforce.com"

    def _form(self) -> dict[str, str]:
        if self.flow == "client_credentials":
            return {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        if self.flow == "refresh_token":
            return {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "refresh_token": self.refresh_token,
            }
        if self.flow == "password":
            return {
                "grant_type": "password",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "username": self.username,
                "password": self.password,
            }
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": int(time.time()) + 180,
        }
        assertion = jwt.encode(claims, self.private_key, algorithm="RS256")
        return {"grant_type": JWT_GRANT, "assertion": assertion}

    def fetch(self, session: requests.Session) -> SalesforceToken:
        """Exchange the credentials for an access token and the org's instance URL."""
        try:
            response = session.post(self.token_url, data=self._form(), timeout=TOKEN_TIMEOUT)
        except requests.RequestException as error:
            raise connection_failure(error, "Salesforce", self.token_url) from None
        status = response.status_code
        if status == 429 or status == 408 or status >= 500:
            raise http_failure(
                "Salesforce",
                status,
                "the login",
                response.text[:200],
                _seconds(response.headers.get("Retry-After")),
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            reason = body.get("error_description") or body.get("error") or response.text[:200]
            raise AuthenticationError(
                f"Salesforce refused the {self.flow} login: {reason} — check the connection's "
                "client id, secret and user"
            )
        return SalesforceToken(body["access_token"], body["instance_url"])
