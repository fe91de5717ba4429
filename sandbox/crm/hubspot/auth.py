"""HubSpot authentication for the sandbox: the private-app token, OAuth tokens, and scopes.

Real HubSpot accepts a private app's token (no expiry) or an OAuth access token that
`POST /oauth/v1/token` issued for a refresh token; the OAuth token lives `expires_in` seconds
(30 minutes) and then answers 401 EXPIRED_AUTHENTICATION. Every token carries the app's
scopes; a call outside them is 403 MISSING_SCOPES naming the scope it needs. Connectors are
tested against exactly these answers, so they are modelled here, on the sandbox clock.

    tokens = HubSpotTokens(config, clock.now)
    body = tokens.grant({"grant_type": "refresh_token", ...})    # the token endpoint
    tokens.set_scopes(config.hs_access_token, {"crm.objects.deals.read"})
    error = tokens.authorize(token, required_scopes("GET", "/crm/v3/objects/deals", {}))
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.responses import Response

from sandbox.crm.config import SandboxConfig
from sandbox.crm.errors import HubSpotError, SandboxError, json_response
from sandbox.crm.hubspot.schema import resolve_object_type

__all__ = ["ALL_SCOPES", "HubSpotTokens", "OAuthFailure", "required_scopes"]

_NO_AUTH = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_SCOPE_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)
# Engagements (emails, meetings, calls, notes, tasks) are read with the contacts scope.
_OBJECT_SCOPE = {
    "contacts": "contacts",
    "companies": "companies",
    "deals": "deals",
    "emails": "contacts",
    "meetings": "contacts",
    "calls": "contacts",
    "notes": "contacts",
    "tasks": "contacts",
}
ALL_SCOPES: frozenset[str] = frozenset(
    {f"crm.objects.{o}.{a}" for o in ("contacts", "companies", "deals") for a in ("read", "write")}
    | {"crm.objects.owners.read", "crm.schemas.deals.write", "crm.schemas.companies.write"}
    | {"crm.schemas.contacts.write", "sales-email-read", "oauth", "forms"}
)


def _scope(object_type: str | None, access: str) -> str | None:
    family = _OBJECT_SCOPE.get(object_type or "")
    return f"crm.objects.{family}.{access}" if family else None


def required_scopes(method: str, path: str, query: Mapping[str, list[str]]) -> list[str]:
    """The scopes a CRM call needs, as HubSpot checks them (reads, writes, linked types)."""
    parts = [p for p in path.split("/") if p]
    writes = method not in ("GET", "HEAD") and not path.endswith(("/search", "/batch/read"))
    access = "write" if writes else "read"
    wanted: list[str | None] = []
    if parts[:3] == ["crm", "v3", "objects"] and len(parts) > 3:
        wanted.append(_scope(resolve_object_type(parts[3]), access))
        for value in query.get("associations", []):
            for name in value.split(","):
                wanted.append(_scope(resolve_object_type(name.strip()), "read"))
    elif parts[:3] == ["crm", "v4", "associations"] and len(parts) > 4:
        wanted += [_scope(resolve_object_type(p), "read") for p in parts[3:5]]
    elif parts[:3] == ["crm", "v3", "properties"] and len(parts) > 3:
        kind = resolve_object_type(parts[3])
        if writes:
            family = _OBJECT_SCOPE.get(kind or "")
            wanted.append(f"crm.schemas.{family}.write" if family else None)
        else:
            wanted.append(_scope(kind, "read"))
    elif parts[:3] == ["crm", "v3", "pipelines"] and len(parts) > 3:
        wanted.append(_scope(resolve_object_type(parts[3]), "read"))
    elif parts[:2] == ["properties", "v2"] and len(parts) > 2:
        wanted.append(_scope(resolve_object_type(parts[2]), "read"))
    elif parts[:3] == ["crm-pipelines", "v1", "pipelines"] and len(parts) > 3:
        wanted.append(_scope(resolve_object_type(parts[3]), "read"))
    elif parts[:3] == ["crm", "v3", "owners"]:
        wanted.append("crm.objects.owners.read")
    elif parts[:3] == ["marketing", "v3", "forms"] or parts[:2] == ["form-integrations", "v1"]:
        wanted.append("forms")
    return list(dict.fromkeys(s for s in wanted if s))


class OAuthFailure(SandboxError):
    """An answer of the OAuth token endpoint: 400 with HubSpot's `status` codes."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = 400
        self.code = status
        self.message = message

    def response(self) -> Response:
        body = {
            "status": self.code,
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "requestId": uuid.uuid4().hex,
        }
        return json_response(body, 400)


@dataclass
class _Token:
    scopes: frozenset[str]
    expires_at: datetime | None  # None: a private app's token


class HubSpotTokens:
    """Every token the sandbox portal accepts, with its scopes and (OAuth) expiry."""

    def __init__(self, config: SandboxConfig, now: Callable[[], datetime]) -> None:
        self.config = config
        self._now = now
        self._lock = threading.Lock()
        granted = frozenset(config.hs_scopes) if config.hs_scopes is not None else ALL_SCOPES
        self.app_scopes = granted
        self._tokens: dict[str, _Token] = {config.hs_access_token: _Token(granted, None)}
        self._refresh_tokens: set[str] = {config.hs_refresh_token}

    # scopes and expiry, for tests ------------------------------------------------------------
    def set_scopes(self, token: str, scopes: Iterable[str]) -> None:
        """Give one token (the private app's, or an issued one) exactly these scopes."""
        with self._lock:
            self._tokens[token] = _Token(frozenset(scopes), self._tokens[token].expires_at)

    def set_app_scopes(self, scopes: Iterable[str]) -> None:
        """The app's scopes: the private-app token and every OAuth token issued from now on."""
        with self._lock:
            self.app_scopes = frozenset(scopes)
            private = self._tokens[self.config.hs_access_token]
            self._tokens[self.config.hs_access_token] = _Token(self.app_scopes, private.expires_at)

    def expire_oauth_tokens(self) -> int:
        """End every issued access token now (refresh tokens stay valid)."""
        moment = self._now()
        with self._lock:
            issued = [t for t in self._tokens.values() if t.expires_at is not None]
            for token in issued:
                token.expires_at = min(token.expires_at or moment, moment)
            return len(issued)

    @property
    def refresh_tokens(self) -> set[str]:
        with self._lock:
            return set(self._refresh_tokens)

    # the API's gate ----------------------------------------------------------------------------
    def authorize(self, token: str, scopes: list[str]) -> HubSpotError | None:
        with self._lock:
            found = self._tokens.get(token)
        if found is None:
            return HubSpotError(401, "INVALID_AUTHENTICATION", _NO_AUTH)
        now = self._now()
        if found.expires_at is not None and found.expires_at <= now:
            minutes = int((now - found.expires_at).total_seconds() // 60)
            return HubSpotError(
                401,
                "EXPIRED_AUTHENTICATION",
                f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
            )
        missing = [s for s in scopes if s not in found.scopes]
        if not missing:
            return None
        return HubSpotError(
            403,
            "MISSING_SCOPES",
            _SCOPE_MESSAGE,
            extra={
                "errors": [
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": missing},
                    }
                ],
                "links": {"scopes": "https://developers.hubspot.com/scopes"},
            },
        )

    # POST /oauth/v1/token ------------------------------------------------------------------------
    def grant(self, form: Mapping[str, str]) -> dict[str, object]:
        cfg = self.config
        if form.get("grant_type") != "refresh_token":
            raise OAuthFailure("BAD_GRANT_TYPE", "missing or invalid grant_type")
        if form.get("client_id") != cfg.hs_client_id:
            raise OAuthFailure("BAD_CLIENT_ID", "missing or invalid client_id")
        if form.get("client_secret") != cfg.hs_client_secret:
            raise OAuthFailure("BAD_CLIENT_SECRET", "missing or invalid client_secret")
        refresh = form.get("refresh_token", "")
        access = f"CN{secrets.token_urlsafe(48)}"
        expires_at = self._now() + timedelta(seconds=cfg.hs_oauth_token_seconds)
        with self._lock:
            if refresh not in self._refresh_tokens:
                raise OAuthFailure("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
            if cfg.hs_rotate_refresh_tokens:
                self._refresh_tokens.discard(refresh)
                refresh = f"rt-{uuid.uuid4()}"
                self._refresh_tokens.add(refresh)
            self._tokens[access] = _Token(self.app_scopes, expires_at)
        return {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": int(cfg.hs_oauth_token_seconds),
        }
