"""Connector errors. Each says what happened and what to do next.

ConnectorError
 ├── ConfigError             connection settings are invalid (unknown field, bad URL)
 ├── AuthenticationError     credentials are rejected; re-authenticate or fix them
 ├── MissingPermission       an object or field cannot be read or written
 ├── MalformedResponse       the CRM answered something that is not what its API promises
 ├── RateLimited             429 / REQUEST_LIMIT_EXCEEDED; carries Retry-After
 ├── TransientError          5xx or a dropped connection; safe to retry
 └── QuotaReached            the configured share of the daily API quota is used up
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectorError",
    "MalformedResponse",
    "MissingPermission",
    "QuotaReached",
    "RateLimited",
    "TransientError",
]


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
