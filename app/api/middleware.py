"""Request ids, one structured access-log line per request, and the last-resort 500 problem."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import Request, Response

from app.api.problems import problem_response

__all__ = ["REQUEST_ID_HEADER", "request_context"]

REQUEST_ID_HEADER = "X-Request-ID"
ROUTINE = ("/live", "/static/", "/healthz", "/readyz")
"""Paths polled or fetched all day (the web app's freshness poll, assets, probes): logged at
DEBUG, so that INFO says what people and CRMs did."""
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("app.access")


def _has_nul(request: Request) -> bool:
    return "\x00" in request.url.path or any(
        "\x00" in key or "\x00" in value for key, value in request.query_params.multi_items()
    )


async def request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Take the caller's request id (if sane) or make one; bind it to every log line."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
    request.state.request_id = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    response: Response
    try:
        if _has_nul(request):  # no database stores it; PostgreSQL refuses it with an error
            response = problem_response(
                request,
                422,
                title="Invalid request",
                detail="the path or a query parameter contains a NUL character (%00)",
                problem_type="/problems/invalid-request",
            )
        else:
            response = await call_next(request)
    except Exception:
        log.exception("unhandled error", extra={"path": request.url.path})
        response = problem_response(
            request,
            500,
            detail="An unexpected error occurred; the request id identifies it in the logs.",
        )
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    response.headers[REQUEST_ID_HEADER] = request_id
    routine = request.url.path.startswith(ROUTINE) and response.status_code < 400
    log.log(
        logging.DEBUG if routine else logging.INFO,
        "request",
        extra={
            "request_id": request_id,
            "method": request.method,
            "path": request.url.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return response
