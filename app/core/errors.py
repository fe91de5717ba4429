"""The service's exception hierarchy; `app.api.problems` maps it to RFC 9457 responses.

MilestonesError
 ├── ConfigurationError      a setting is missing or invalid (names the setting)
 ├── SecretError             stored credentials cannot be opened
 ├── DatabaseError           the database is unreachable or not migrated
 ├── UnauthorizedError       no API key, or one that is malformed, unknown or revoked
 ├── ForbiddenError          the key's role does not allow this
 ├── NotFoundError           a requested resource does not exist
 ├── ConflictError           the request conflicts with current state
 └── InvalidRequestError     the request is well-formed but not acceptable
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DatabaseError",
    "ForbiddenError",
    "InvalidRequestError",
    "MilestonesError",
    "NotFoundError",
    "SecretError",
    "UnauthorizedError",
]


class MilestonesError(Exception):
    """Base of every error the service raises on purpose."""

    status_code: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigurationError(MilestonesError):
    status_code = 500
    title = "Configuration error"


class SecretError(MilestonesError):
    status_code = 500
    title = "Credentials cannot be decrypted"


class DatabaseError(MilestonesError):
    status_code = 503
    title = "Database unavailable"


class UnauthorizedError(MilestonesError):
    status_code = 401
    title = "Unauthorized"


class ForbiddenError(MilestonesError):
    status_code = 403
    title = "Forbidden"


class NotFoundError(MilestonesError):
    status_code = 404
    title = "Not found"


class ConflictError(MilestonesError):
    status_code = 409
    title = "Conflict"


class InvalidRequestError(MilestonesError):
    status_code = 422
    title = "Invalid request"
