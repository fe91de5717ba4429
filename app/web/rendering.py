"""Pages as HTML: the templates, their filters, the session cookie and the error pages.

`render` fills in what every page shows (who is signed in, the navigation, the data's age and
the KPI view's generation the page polls against) and sets the security headers. `PageRoute`
turns a missing sign-in into a redirect and any refusal into an HTML page that says why, where
the API answers problem+json.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from app.api.deps import kpi_store_of
from app.core.errors import MilestonesError
from app.core.settings import Settings
from app.web.deps import SignInRequired, Viewer, codec_of, current_session
from app.web.session import COOKIE, WebSession

__all__ = ["TEMPLATES", "PageRoute", "render", "set_session_cookie"]

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
NONE = "\u2013"
"""What a missing number shows (an en dash)."""
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def money(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    return f"{value:,.0f}"


def percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return NONE
    return f"{value * 100:.{digits}f} %"


def chance(value: float | None) -> str:
    """A win probability: an open deal's chance is never 0 or 1, so it never reads 0 % or
    100 % either ("< 1 %", "> 99 %")."""
    if value is not None and 0.0 < value < 0.005:
        return "< 1 %"
    if value is not None and 0.995 <= value < 1.0:
        return "> 99 %"
    return percent(value)


def days(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value:.1f} d" if value < 10 else f"{value:.0f} d"


def moment(value: datetime | date | None) -> str:
    if value is None:
        return NONE
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def day(value: datetime | date | None) -> str:
    if value is None:
        return NONE
    return value.strftime("%Y-%m-%d")


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "never synced"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def signed(value: float) -> str:
    return f"+{value:,.0f}" if value > 0 else f"{value:,.0f}"


for name, function in {
    "money": money,
    "percent": percent,
    "chance": chance,
    "days": days,
    "moment": moment,
    "day": day,
    "ago": ago,
    "signed": signed,
}.items():
    TEMPLATES.env.filters[name] = function


def _nav(viewer: Viewer | None) -> list[tuple[str, str]]:
    if viewer is None:
        return []
    items: list[tuple[str, str]] = []
    if viewer.reads_kpis:
        items += [("/", "Pipeline"), ("/forecast", "Forecast"), ("/stalled", "Stalled deals")]
        items.append(("/reps/me", "My progress") if viewer.is_rep else ("/reps", "Reps"))
    if viewer.works_ops:
        items += [("/ops/connections", "Connections"), ("/ops/rules", "Rules")]
    if viewer.may("ops", "manager"):
        items.append(("/ops/health", "Process health"))
    return items


def set_session_cookie(request: Request, response: Response, session: WebSession) -> None:
    settings: Settings = request.app.state.settings
    secure = request.url.scheme == "https" or (settings.public_url or "").startswith("https:")
    codec = codec_of(request)
    response.set_cookie(
        COOKIE,
        codec.dumps(session),
        max_age=int(codec.max_age) if session.key_id is not None else None,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    live: bool = False,
    **context: Any,
) -> Response:
    """The page, with what every page shows; `live` pages reload when the view moves on."""
    session = viewer.session if viewer is not None else current_session(request)
    fresh = session is None
    if session is None:
        session = WebSession.anonymous()
    store = kpi_store_of(request.app)
    view = store.current
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "csrf_token": session.csrf,
            "nav": _nav(viewer),
            "path": request.url.path,
            "data_age": store.data_age_seconds(),
            "as_of": view.as_of if view is not None else None,
            "generation": view.generation if view is not None else None,
            "live": live,
            **context,
        },
        status_code=status,
    )
    if fresh:
        set_session_cookie(request, response, session)
    return _secure(response)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    session = current_session(request)
    principal = session.principal if session is not None else None
    viewer = Viewer(principal, session) if principal is not None and session else None
    return render(request, "error.html", viewer, status=status, title=title, detail=detail)


class PageRoute(APIRoute):
    """A web page: sign-in redirects and refusals as HTML, never problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as missing:
                if request.method == "GET":
                    return RedirectResponse(missing.location, status_code=303)
                return error_page(request, 401, "Signed out", "Sign in again to continue.")
            except MilestonesError as error:
                return error_page(request, error.status_code, error.title, error.detail)
            except RequestValidationError as invalid:
                first = invalid.errors()[0] if invalid.errors() else {}
                where = ".".join(str(part) for part in first.get("loc", ()))
                detail = f"{where}: {first.get('msg', 'invalid')}"
                return error_page(request, 422, "Invalid request", detail)

        return page


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)
