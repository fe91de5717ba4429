"""Prometheus metrics: syncs, CRM API calls, errors, freshness lag, write-back, webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import MetricsDep
from app.services.jobs.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus text exposition", response_class=Response)
async def metrics(registry: MetricsDep) -> Response:
    body = await run_in_threadpool(registry.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
