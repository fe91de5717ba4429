"""Connector errors. Each says what happened and what to do next.

ConnectorError
 ├── ConfigError             connection settings are invalid (unknown field, bad URL)
 ├── AuthenticationError     credentials are rejected; re-authenticate or fix them
 ├── MissingPermission       an object or field cannot be read or written
 ├── MalformedResponse       the CRM answered something that is not what its API promises
 ├── Unreachable             the CRM's host cannot be reached or trusted (DNS, refused, TLS)
 ├── RateLimited             429 / REQUEST_LIMIT_EXCEEDED; carries Retry-After
 ├── TransientError          5xx, a timeout or a dropped connection; safe to retry
 ├── QuotaReached            the configured share of the daily API quota is used up
 └── Interrupted             a stop was asked while waiting to retry; the next run resumes

Which of them are worth another attempt is decided in one place, `connectors.core.classify`.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectorError",
    "Interrupted",
    "MalformedResponse",
    "MissingPermission",
    "QuotaReached",
    "RateLimited",
    "TransientError",
    "Unreachable",
    "UnreachableCause",
]

UnreachableCause = Literal["dns", "refused", "no answer", "network", "tls"]


class ConnectorError(Exception):
    """Base of all connector errors."""


class ConfigError(ConnectorError):
    pass


class AuthenticationError(ConnectorError):
    pass


class MissingPermission(ConnectorError):
    """`missing` names what to grant (HubSpot scopes), when the CRM says."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class MalformedResponse(ConnectorError):
    pass


class Unreachable(ConnectorError):
    """No conversation with the CRM is possible: the run fails now, the next one tries again.

    A name that does not resolve or a certificate that is not trusted will not heal within a
    run; nothing listening (`refused`), nothing answering or no route may be a restart, worth
    one more quick attempt (`classify.retry_class`).
    """

    def __init__(self, message: str, host: str, cause: UnreachableCause) -> None:
        super().__init__(message)
        self.host = host
        self.cause = cause


class RateLimited(ConnectorError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ConnectorError):
    pass


class QuotaReached(ConnectorError):
    def __init__(self, message: str, used: int, limit: int) -> None:
        super().__init__(message)
        self.used = used
        self.limit = limit


class Interrupted(ConnectorError):
    """The process is stopping: a retry's wait was cut short and no further attempt made."""
