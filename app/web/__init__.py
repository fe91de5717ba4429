"""The web app: the same KPIs, forecast and ops tools as the API, as pages for people.

Served by the API's process under `/` (the REST API stays under `/api/v1`): server-rendered
templates over the same services the API answers with, assets served by the app itself (no
CDN), sign-in with an API key into a signed session cookie, CSRF on every state change.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.core.settings import Settings
from app.web.docs import mount_docs
from app.web.session import SessionCodec

__all__ = ["STATIC", "mount_web"]

STATIC = "/static/web"


def mount_web(app: FastAPI, settings: Settings) -> None:
    """Add the pages, their assets and the offline API docs to `app`."""
    from app.api.deps import keeper_of, kpi_store_of
    from app.web.routes import (
        auth,
        deals,
        forecast,
        live,
        ops_connections,
        ops_health,
        ops_rules,
        pipeline,
        reps,
    )
    from app.web.warming import warm_pages

    app.state.web_sessions = SessionCodec.from_settings(settings)
    store = kpi_store_of(app)
    store.on_snapshot(warm_pages(store, app.state.database, keeper_of(app)))
    app.mount(STATIC, StaticFiles(directory=Path(__file__).parent / "static"), name="web-assets")
    mount_docs(app)
    for module in (
        auth,
        live,
        pipeline,
        forecast,
        deals,
        reps,
        ops_connections,
        ops_rules,
        ops_health,
    ):
        app.include_router(module.router, include_in_schema=False)
