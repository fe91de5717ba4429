"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__
from app.api.middleware import request_context
from app.api.problems import install_problem_handlers
from app.api.routes import connections, health, mappings, metrics, sync_runs, webhooks
from app.config import Settings, get_settings
from app.db import Database
from app.logs import configure_logging

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Milestone Sync",
        version=__version__,
        summary="Customer-action milestones, forward-looking sales KPIs and forecasts.",
    )
    app.state.settings = settings
    app.state.database = database or Database(settings.effective_database_url)
    app.middleware("http")(request_context)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(connections.router)
    app.include_router(mappings.router)
    app.include_router(sync_runs.router)
    app.include_router(webhooks.router)
    app.include_router(metrics.router)
    return app
