"""Real-time triggers from the CRMs: HubSpot webhooks and a Salesforce sync trigger.

`POST /webhooks/hubspot` is authenticated by its v3 signature alone (no API key): an unsigned,
mis-signed, stale or replayed delivery answers 401, queues nothing, and is counted in
`milestones_webhooks_total`. `POST /webhooks/salesforce/{connection}` is for a Flow's HTTP
callout (JSON) or an Outbound Message (SOAP), authenticated by the connection's trigger token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.api.deps import DatabaseDep, MetricsDep, SecretBoxDep, SettingsDep
from app.api.problems import problem_response
from app.core.settings import Settings
from app.services.sync.triggers import OUTBOUND_ACK
from app.services.sync.webhooks import receive_hubspot, receive_salesforce_trigger

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_REJECTED: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Unsigned, mis-signed, stale or replayed",
        "content": {"application/problem+json": {}},
    }
}
_REASONS = {
    "unsigned": "the X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp headers are required",
    "stale": "the request timestamp is more than 5 minutes away from now",
    "bad_signature": "the signature matches no HubSpot connection's client secret",
    "replayed": "this signature was received before",
    "unauthorized": "a valid trigger token is required (Authorization: Bearer, or ?token=)",
}


class WebhookAccepted(BaseModel):
    accepted: bool = True
    events: int
    connections: list[str]
    jobs: list[int]


def _request_uri(settings: Settings, request: Request) -> str:
    """The URI as the sender signed it: the configured public address, or as received."""
    if settings.public_url is None:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{settings.public_url}{request.url.path}{query}"


def _rejected(request: Request, reason: str) -> JSONResponse:
    return problem_response(
        request,
        401,
        title="Webhook rejected",
        detail=_REASONS.get(reason, reason),
        problem_type="/problems/webhook-rejected",
        reason=reason,
    )


@router.post(
    "/hubspot",
    response_model=WebhookAccepted,
    responses=_REJECTED,
    summary="HubSpot webhook (v3 signature): queue an immediate sync of the objects named",
)
async def hubspot_webhook(
    request: Request,
    database: DatabaseDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Any:
    body = await request.body()
    outcome = await run_in_threadpool(
        receive_hubspot,
        database,
        box,
        request.method,
        _request_uri(settings, request),
        body,
        request.headers,
    )
    metrics.webhooks.labels(source="hubspot", outcome=outcome.reason).inc()
    if outcome.reason == "malformed":
        return problem_response(request, 400, detail="the body is not a JSON list of events")
    if not outcome.accepted:
        return _rejected(request, outcome.reason)
    return WebhookAccepted(
        events=outcome.events, connections=outcome.connections, jobs=outcome.jobs
    )


@router.post(
    "/salesforce/{connection}",
    response_model=WebhookAccepted,
    responses=_REJECTED,
    summary="Salesforce Flow or Outbound Message: queue an immediate sync of the connection",
)
async def salesforce_trigger(
    connection: str,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    token: str | None = Query(default=None, description="For Outbound Messages (no headers)."),
) -> Any:
    """JSON `{"streams": ["Task", ...]}` (optional) from a Flow, or an Outbound Message's SOAP
    notifications (answered with the Ack Salesforce expects); either queues one sync job."""
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else (token or "")
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    outcome = await run_in_threadpool(
        receive_salesforce_trigger, database, settings, connection, presented, body, content_type
    )
    metrics.webhooks.labels(source="salesforce", outcome=outcome.reason).inc()
    if outcome.reason == "malformed":
        return problem_response(request, 422, title="Invalid request", detail=outcome.detail)
    if not outcome.accepted:
        return _rejected(request, outcome.reason)
    if "xml" in content_type:
        return Response(OUTBOUND_ACK, media_type="text/xml")
    return WebhookAccepted(
        events=outcome.events, connections=outcome.connections, jobs=outcome.jobs
    )
