"""The web app's session: a signed cookie naming the API key a person signed in with.

The cookie holds the key's id, role, owner and name (never the key), a CSRF token and when it
was issued, signed with a key derived from `MILESTONES_SECRET_KEY` (every configured key
verifies, the first signs, as for credentials). It is refused once `web_session_hours` have
passed since sign-in, and whether the key was revoked is read on every request, as the API
does. Before sign-in an anonymous session carries only the CSRF token the sign-in form posts.

    codec = SessionCodec.from_settings(settings)
    cookie = codec.dumps(WebSession.signed_in(principal))
    session = codec.loads(cookie)        # None: missing, forged or expired
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.core.crypto import load_keys
from app.core.settings import Settings
from app.services.access.api_keys import Principal

__all__ = ["COOKIE", "SessionCodec", "WebSession"]

COOKIE = "milestones_session"
_SALT = "milestones web session"


@dataclass(frozen=True)
class WebSession:
    csrf: str
    key_id: int | None = None
    role: str | None = None
    owner: str | None = None
    name: str | None = None
    issued: float = 0.0

    @classmethod
    def anonymous(cls) -> WebSession:
        return cls(csrf=secrets.token_urlsafe(32), issued=time.time())

    @classmethod
    def signed_in(cls, principal: Principal) -> WebSession:
        """A new session (and a new CSRF token: a token seen before sign-in is not reused)."""
        return cls(
            csrf=secrets.token_urlsafe(32),
            key_id=principal.key_id,
            role=principal.role,
            owner=principal.owner,
            name=principal.name,
            issued=time.time(),
        )

    @property
    def principal(self) -> Principal | None:
        if self.key_id is None or self.role is None:
            return None
        return Principal(self.key_id, self.name or "", self.role, self.owner)

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), (token or "").encode())

    def with_new_csrf(self) -> WebSession:
        return replace(self, csrf=secrets.token_urlsafe(32))


class SessionCodec:
    """Signs and checks session cookies; `max_age` seconds after issue they are refused."""

    def __init__(self, keys: list[bytes], max_age: float) -> None:
        derived = [hmac.new(key, _SALT.encode(), hashlib.sha256).digest() for key in keys]
        # itsdangerous signs with the last key and accepts any: the first configured key signs
        self._serializer = URLSafeTimedSerializer(list(reversed(derived)), salt=_SALT)
        self.max_age = max_age

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionCodec:
        return cls(load_keys(settings), settings.web_session_hours * 3600)

    def dumps(self, session: WebSession) -> str:
        return str(self._serializer.dumps(asdict(session)))

    def loads(self, cookie: str | None) -> WebSession | None:
        if not cookie:
            return None
        try:
            data: dict[str, Any] = self._serializer.loads(cookie, max_age=int(self.max_age))
            session = WebSession(**data)
        except (BadSignature, TypeError, ValueError):
            return None
        if session.key_id is not None and time.time() - session.issued > self.max_age:
            return None
        return session
