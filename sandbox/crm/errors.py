"""The sandbox's exceptions, each rendered as the real API renders that error.

SandboxError
├── SalesforceError   [{"message", "errorCode"}] with an HTTP status
├── OAuthError        {"error", "error_description"} from /services/oauth2/token
└── HubSpotError      {"status": "error", "message", "correlationId", "category", ...}
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["HubSpotError", "OAuthError", "SalesforceError", "SandboxError", "json_response"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class SandboxError(Exception):
    status: int = 500

    def response(self) -> Response:
        raise NotImplementedError


class SalesforceError(SandboxError):
    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        fields: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            body["fields"] = self.fields
        return json_response([body], self.status, self.headers)


class OAuthError(SandboxError):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        return json_response(
            {"error": self.error, "error_description": self.description}, self.status
        )


class HubSpotError(SandboxError):
    def __init__(
        self,
        status: int,
        category: str | None,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{category}: {message}")
        self.status = status
        self.category = category
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
        }
        if self.category is not None:
            body["category"] = self.category
        body.update(self.extra)
        return json_response(body, self.status, self.headers)
