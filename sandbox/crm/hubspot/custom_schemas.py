"""GET /crm/v3/schemas: the portal's custom object schemas. A sandbox portal has none, so the
answer is HubSpot's for such a portal (200 with no results), never a 404 a connector would
have to special-case."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from sandbox.crm.errors import json_response

__all__ = ["router"]

router = APIRouter()


@router.get("/crm/v3/schemas", name="schemas_list")
async def schemas_list() -> Response:
    return json_response({"results": []})
