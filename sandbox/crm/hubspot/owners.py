"""Owners: the users deals and engagements belong to, listed (paged by `after`) or read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.errors import json_response
from sandbox.crm.hubspot.deps import StoreDep
from sandbox.crm.hubspot.wire import flag, invalid, not_found

__all__ = ["router"]

router = APIRouter(prefix="/crm/v3/owners")


@router.get("", name="owners_list")
async def owners_list(request: Request, store: StoreDep) -> Response:
    params = request.query_params
    try:
        limit = max(1, min(int(params.get("limit", "100")), 500))
        after = int(params.get("after") or 0)
    except ValueError as error:
        raise invalid("Invalid limit or after") from error
    archived = flag(params.get("archived"))
    email = params.get("email")
    owners = sorted(store.owners.values(), key=lambda o: int(o["id"]))
    chosen = [
        o
        for o in owners
        if o["archived"] == archived
        and int(o["id"]) >= after
        and (email is None or o.get("email") == email)
    ]
    body: dict[str, Any] = {"results": chosen[:limit]}
    if len(chosen) > limit:
        nxt = chosen[limit]["id"]
        body["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
    return json_response(body)


@router.get("/{owner_id}", name="owners_read")
async def owners_read(request: Request, owner_id: str, store: StoreDep) -> Response:
    id_property = request.query_params.get("idProperty", "id")
    for owner in store.owners.values():
        key = str(owner.get("userId")) if id_property == "userId" else owner["id"]
        if key == owner_id:
            return json_response(owner)
    raise not_found(f"Unable to find owner {owner_id}")
