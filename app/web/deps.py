"""Who is looking, what they may see, and the CSRF check every state change passes.

A page's viewer comes from the signed session cookie (`session`); the key behind it is
checked for revocation on every request with the API's own reader, so revoking a key signs
its web sessions out at once. Roles are the API's: admin sees everything, ops the workbench,
managers every KPI, reps only their own deals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from app.api.deps import kpi_store_of
from app.core.errors import ForbiddenError, MilestonesError
from app.services.access.api_keys import Principal
from app.services.kpis.snapshot import Snapshot
from app.services.kpis.store import KpiStore
from app.web.session import COOKIE, SessionCodec, WebSession

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CsrfRefused",
    "SignInRequired",
    "Viewer",
    "ViewerDep",
    "csrf_protect",
    "current_session",
    "view_snapshot",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KPI_ROLES = ("manager", "rep")
OPS_ROLES = ("ops",)


class SignInRequired(Exception):
    """No valid session: the page sends the browser to sign in, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def location(self) -> str:
        return f"/sign-in?next={quote(self.next_path, safe='/')}"


class CsrfRefused(MilestonesError):
    status_code = 403
    title = "Form refused"


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    session: WebSession

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def is_rep(self) -> bool:
        return self.role == "rep"

    def may(self, *roles: str) -> bool:
        return self.role in {"admin", *roles}

    @property
    def reads_kpis(self) -> bool:
        return self.may(*KPI_ROLES)

    @property
    def works_ops(self) -> bool:
        return self.may(*OPS_ROLES)

    @property
    def home(self) -> str:
        if self.reads_kpis:
            return "/"
        return "/ops/connections"

    def require(self, *roles: str) -> None:
        if not self.may(*roles):
            allowed = ", ".join(sorted({"admin", *roles}))
            raise ForbiddenError(f"a {self.role} key cannot open this page; it needs: {allowed}")


def codec_of(request: Request) -> SessionCodec:
    codec: SessionCodec = request.app.state.web_sessions
    return codec


def current_session(request: Request) -> WebSession | None:
    return codec_of(request).loads(request.cookies.get(COOKIE))


def _path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def get_viewer(request: Request) -> Viewer:
    session = current_session(request)
    principal = session.principal if session is not None else None
    if session is None or principal is None:
        raise SignInRequired(_path(request))
    if request.app.state.revocations.revoked(principal.key_id):
        raise SignInRequired(_path(request))
    request.state.principal = principal
    return Viewer(principal, session)


async def csrf_protect(request: Request) -> None:
    """Every request that changes something carries the session's CSRF token, in the form
    (`csrf_token`) or in the `X-CSRF-Token` header; anything else is refused."""
    if request.method in SAFE_METHODS:
        return
    session = current_session(request)
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    if session is None or not session.csrf_matches(token):
        raise CsrfRefused(
            "the form's security token is missing or out of date; reload the page and try again"
        )


async def view_snapshot(request: Request) -> tuple[KpiStore, Snapshot]:
    """The KPI view the API answers from, at its current generation."""
    store = kpi_store_of(request.app)
    snapshot = store.snapshot() if store.ready else await run_in_threadpool(store.snapshot)
    return store, snapshot


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
