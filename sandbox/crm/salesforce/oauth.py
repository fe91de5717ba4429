"""POST /services/oauth2/token: the OAuth grants simple-salesforce and the connector use.

Credentials come as a form body, as query parameters (simple-salesforce's password flow) or
as HTTP Basic client credentials; `auth.SessionRegistry.grant` decides.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import OAuthError, json_response

__all__ = ["router"]

router = APIRouter()


@router.post("/services/oauth2/token", name="oauth_token")
async def oauth_token(request: Request, sandbox: SandboxDep) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    form.update({k: v for k, v in request.query_params.items() if k not in form})
    basic = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            basic = (user, password)
        except ValueError as error:
            raise OAuthError("invalid_client", "invalid client credentials") from error
    instance_url = str(request.base_url).rstrip("/")
    return json_response(sandbox.sessions.grant(form, basic, instance_url))
