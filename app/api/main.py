"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app import __version__
from app.api.deps import RevocationReader, require
from app.api.middleware import request_context
from app.api.problems import AUTHENTICATED, install_problem_handlers, problem_responses
from app.api.routes import (
    connections,
    health,
    keys,
    kpis,
    mappings,
    metrics,
    process_health,
    sync_runs,
    webhooks,
)
from app.api.routes import targets as target_routes
from app.api.routes import writeback as writeback_routes
from app.core.database import Database
from app.core.logs import configure_logging
from app.core.settings import Settings, get_settings
from app.web import mount_web

__all__ = ["create_app"]


@asynccontextmanager
async def _resources(app: FastAPI) -> AsyncIterator[None]:
    """What the app holds open for its lifetime is closed when it stops."""
    try:
        yield
    finally:
        app.state.revocations.close()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Milestone Sync",
        version=__version__,
        summary="Customer-action milestones, forward-looking sales KPIs and forecasts.",
        lifespan=_resources,
        docs_url=None,  # served offline by the web app (`app.web.docs`)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.effective_database_url)
    app.state.revocations = RevocationReader(app.state.database)
    app.middleware("http")(request_context)
    install_problem_handlers(app)
    app.include_router(health.router)
    problems = problem_responses(*AUTHENTICATED)
    for router, role in (
        (connections.router, None),
        (mappings.router, "ops"),
        (keys.router, None),
        (sync_runs.router, "ops"),
        (metrics.router, "ops"),
        (writeback_routes.router, "ops"),
    ):
        roles = (role,) if role else ()
        app.include_router(router, dependencies=[Depends(require(*roles))], responses=problems)
    app.include_router(kpis.router, responses=problems)
    app.include_router(process_health.router, responses=problems)
    app.include_router(target_routes.router, responses=problems)
    app.include_router(webhooks.router, responses=problem_responses(400, 401, 404, 422, 503))
    mount_web(app, settings)
    return app
