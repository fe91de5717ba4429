"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app import __version__
from app.api.deps import RevocationReader, require
from app.api.middleware import request_context
from app.api.problems import install_problem_handlers
from app.api.routes import connections, health, keys, kpis, mappings, metrics, sync_runs, webhooks
from app.api.routes import targets as target_routes
from app.api.routes import writeback as writeback_routes
from app.core.database import Database
from app.core.logs import configure_logging
from app.core.settings import Settings, get_settings

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
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.effective_database_url)
    app.state.revocations = RevocationReader(app.state.database)
    app.middleware("http")(request_context)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(connections.router, dependencies=[Depends(require())])
    app.include_router(mappings.router, dependencies=[Depends(require("ops"))])
    app.include_router(keys.router, dependencies=[Depends(require())])
    app.include_router(kpis.router)
    app.include_router(target_routes.router)
    app.include_router(sync_runs.router, dependencies=[Depends(require("ops"))])
    app.include_router(webhooks.router)
    app.include_router(metrics.router, dependencies=[Depends(require("ops"))])
    app.include_router(writeback_routes.router, dependencies=[Depends(require("ops"))])
    return app
