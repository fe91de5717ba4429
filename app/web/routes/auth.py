"""Signing in with an API key, and out.

The key is checked by the access service the API's bearer check uses (`authenticate`); the
browser keeps only a signed session cookie naming it, never the key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from app.api.deps import DatabaseDep
from app.core.database import Database
from app.services.access.api_keys import InvalidKeyError, Principal, authenticate, touch
from app.web.deps import Viewer, csrf_protect, current_session
from app.web.rendering import PageRoute, render, set_session_cookie
from app.web.session import WebSession

router = APIRouter(route_class=PageRoute, dependencies=[Depends(csrf_protect)])


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site: never another host (`//evil`, `https://...`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _check(database: Database, key: str) -> Principal | None:
    with database.session() as session:
        try:
            principal = authenticate(session, key)
        except InvalidKeyError:
            return None
        touch(session, principal.key_id)
        return principal


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    session = current_session(request)
    principal = session.principal if session is not None else None
    if principal is not None and not request.app.state.revocations.revoked(principal.key_id):
        assert session is not None
        viewer = Viewer(principal, session)
        return RedirectResponse(_safe_next(next) or viewer.home, status_code=303)
    return render(request, "sign_in.html", None, next=_safe_next(next) or "", error=None)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    database: DatabaseDep,
    key: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    principal = await run_in_threadpool(_check, database, key.strip()) if key.strip() else None
    if principal is None:
        return render(
            request,
            "sign_in.html",
            None,
            status=401,
            next=_safe_next(next) or "",
            error="That key is not a valid API key (malformed, unknown or revoked).",
        )
    session = WebSession.signed_in(principal)
    viewer = Viewer(principal, session)
    response = RedirectResponse(_safe_next(next) or viewer.home, status_code=303)
    set_session_cookie(request, response, session)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    set_session_cookie(request, response, WebSession.anonymous())
    return response
