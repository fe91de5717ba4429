"""Salesforce OAuth 2.0 for the sandbox: the token endpoint's grants and the bearer sessions.

Grants: client_credentials, refresh_token, password, and the JWT bearer flow
(urn:ietf:params:oauth:grant-type:jwt-bearer; RS256, verified when a public key is configured).
Sessions live `sf_session_seconds` of wall time; tests and faults can revoke them all at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt

from sandbox.crm.config import SandboxConfig
from sandbox.crm.errors import OAuthError

__all__ = ["JWT_GRANT", "Session", "SessionRegistry"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Session:
    token: str
    grant: str
    expires_at: float


class SessionRegistry:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._refresh_tokens: set[str] = {config.sf_refresh_token}

    def issue(self, grant: str) -> Session:
        token = f"{self.config.sf_org_id}!{secrets.token_urlsafe(48)}"
        session = Session(token, grant, time.monotonic() + self.config.sf_session_seconds)
        with self._lock:
            self._sessions[token] = session
        return session

    def valid(self, token: str) -> bool:
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return False
            if session.expires_at <= time.monotonic():
                del self._sessions[token]
                return False
            return True

    def revoke_all(self) -> int:
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count

    def add_refresh_token(self, token: str) -> None:
        with self._lock:
            self._refresh_tokens.add(token)

    # the token endpoint ---------------------------------------------------------------
    def grant(
        self, form: dict[str, str], basic: tuple[str, str] | None, instance_url: str
    ) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        client_id = form.get("client_id") or (basic[0] if basic else "")
        client_secret = form.get("client_secret") or (basic[1] if basic else "")
        cfg = self.config
        if grant_type == "client_credentials":
            self._client(client_id, client_secret, required=True)
        elif grant_type == "refresh_token":
            self._client(client_id, client_secret, required=False)
            with self._lock:
                known = form.get("refresh_token", "") in self._refresh_tokens
            if not known:
                raise OAuthError("invalid_grant", "expired access/refresh token")
        elif grant_type == "password":
            self._client(client_id, client_secret, required=True)
            if form.get("username") != cfg.sf_username or form.get("password") != cfg.sf_password:
                raise OAuthError("invalid_grant", "authentication failure")
        elif grant_type == JWT_GRANT:
            self._jwt(form.get("assertion", ""))
        elif not grant_type:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        session = self.issue(grant_type)
        issued_at = str(int(time.time() * 1000))
        identity = f"{instance_url}/id/{cfg.sf_org_id}/{cfg.sf_user_id}"
        signature = hmac.new(
            cfg.sf_client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        body: dict[str, Any] = {
            "access_token": session.token,
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(signature).decode(),
            "scope": "api refresh_token",
        }
        if grant_type == "refresh_token":
            body.pop("scope")
        return body

    def _client(self, client_id: str, client_secret: str, *, required: bool) -> None:
        if client_id != self.config.sf_client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (required or client_secret) and client_secret != self.config.sf_client_secret:
            raise OAuthError("invalid_client", "invalid client credentials")

    def _jwt(self, assertion: str) -> None:
        cfg = self.config
        try:
            header = jwt.get_unverified_header(assertion)
            if cfg.sf_jwt_public_key_pem:
                claims = jwt.decode(
                    assertion,
                    cfg.sf_jwt_public_key_pem,
                    algorithms=["RS256"],
                    options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]},
                )
            else:
                claims = jwt.decode(
                    assertion, options={"verify_signature": False, "require": ["exp"]}
                )
                if header.get("alg") != "RS256":
                    raise OAuthError("invalid_grant", "invalid assertion")
        except jwt.ExpiredSignatureError as error:
            raise OAuthError("invalid_grant", "expired authorization code") from error
        except jwt.PyJWTError as error:
            raise OAuthError("invalid_grant", "invalid assertion") from error
        if claims.get("iss") != cfg.sf_client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != cfg.sf_username:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(a, str) and a.startswith("https://") for a in audiences):
            raise OAuthError("invalid_grant", "audience is invalid")
