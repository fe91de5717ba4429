"""POST /oauth/v1/token: a refresh_token grant for a 30-minute access token (`auth`)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import json_response

__all__ = ["router"]

router = APIRouter()


@router.post("/oauth/v1/token", name="oauth_token")
async def oauth_token(request: Request, sandbox: SandboxDep) -> Response:
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    return json_response(sandbox.hs_tokens.grant(form))
