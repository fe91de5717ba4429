"""The HubSpot CRM API subset (placeholder until the routes land)."""

from __future__ import annotations

from fastapi import FastAPI

from connectors.sandbox.admin import admin_router
from connectors.sandbox.sandbox import Sandbox

__all__ = ["build_hubspot_app"]


def build_hubspot_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(admin_router(sandbox))
    return app
