"""Every error leaves the API as RFC 9457 `application/problem+json`, mapped here in one place."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import MilestonesError

__all__ = ["PROBLEM_JSON", "install_problem_handlers", "problem_response", "problem_responses"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}
_WHEN = {
    400: "The request cannot be read (e.g. a body that is not JSON)",
    401: "No valid API key",
    403: "The key's role does not allow it",
    404: "Not found",
    409: "In conflict with the current state",
    413: "The body is too large",
    422: "Invalid parameters or body, each problem named",
    429: "Too many requests; retry after the time given",
    503: "The database or a dependency is unavailable; retry later",
}
AUTHENTICATED = (400, 401, 403, 404, 409, 422, 503)
"""What any authenticated operation may answer besides its success."""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem+json answers an operation may give."""
    return {
        status: {
            "description": _WHEN[status],
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def problem_response(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    problem_type: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MilestonesError)
    if exc.status_code >= 500:
        log.error("request failed", extra={"error": exc.detail, "path": request.url.path})
    return problem_response(
        request,
        exc.status_code,
        title=exc.title,
        detail=exc.detail,
        problem_type=f"/problems/{_slug(exc.title)}",
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        request, exc.status_code, detail=detail, headers=getattr(exc, "headers", None)
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/api/"):
        # A body is read before the key is checked: who may not ask hears that first (401),
        # not what is wrong with the request.
        from app.api.deps import get_principal

        try:
            await get_principal(request)
        except MilestonesError as refused:
            return await _on_domain_error(request, refused)
    errors = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    first = errors[0] if errors else None
    detail = (
        f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
        if first
        else "invalid request"
    )
    return problem_response(
        request,
        422,
        title="Invalid request",
        detail=detail,
        problem_type="/problems/invalid-request",
        errors=errors,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MilestonesError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
