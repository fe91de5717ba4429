"""Objects one at a time: list (paged by `after`), read, create, update, archive.

GET    /crm/v3/objects/{type}        limit <= 100 (50 with propertiesWithHistory), after,
                                     properties, propertiesWithHistory, associations, archived
GET    /crm/v3/objects/{type}/{id}   idProperty, archived, and the lists above
POST   /crm/v3/objects/{type}        properties, associations
PATCH  /crm/v3/objects/{type}/{id}   properties
DELETE /crm/v3/objects/{type}/{id}
"""

from __future__ import annotations

import bisect
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import json_response
from sandbox.crm.hubspot.deps import ObjectKind, StoreDep
from sandbox.crm.hubspot.lookup import check_properties, find
from sandbox.crm.hubspot.render import render, wanted_properties, written_properties
from sandbox.crm.hubspot.wire import flag, invalid, names, object_not_found, object_type, read_json
from sandbox.crm.timefmt import epoch_ms

__all__ = ["router"]

router = APIRouter(prefix="/crm/v3/objects/{object_type}")


async def _properties(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The body, and its `properties` (required)."""
    body = await read_json(request)
    values = body.get("properties")
    if not isinstance(values, dict):
        raise invalid("Properties are required")
    return body, values


@router.get("", name="objects_list")
async def objects_list(
    request: Request, kind: ObjectKind, sandbox: SandboxDep, store: StoreDep
) -> Response:
    params = request.query_params
    history = names(params.getlist("propertiesWithHistory"))
    try:
        limit = int(params.get("limit", "10"))
    except ValueError as error:
        raise invalid(f"Invalid limit: {params.get('limit')}") from error
    limit = max(1, min(limit, 50 if history else 100))
    after_text = params.get("after")
    if after_text is not None and not after_text.isdigit():
        raise invalid(f"Invalid after: {after_text}")
    after = int(after_text or 0)
    associations = [object_type(t) for t in names(params.getlist("associations"))]
    archived = flag(params.get("archived"))
    properties = wanted_properties(store, kind, names(params.getlist("properties")))
    history = wanted_properties(store, kind, history) if history else []
    ids = store.ordered_ids(kind)
    table = store.objects[kind]
    results: list[dict[str, Any]] = []
    moment = epoch_ms(sandbox.now())
    position = bisect.bisect_left(ids, after)
    next_after: int | None = None
    with store.lock:
        while position < len(ids):
            obj = table[str(ids[position])]
            position += 1
            if obj.archived != archived:
                continue
            if len(results) == limit:
                next_after = int(obj.id)
                break
            results.append(
                render(
                    store,
                    kind,
                    obj,
                    properties,
                    at_ms=moment,
                    history=history,
                    associations=associations,
                )
            )
    body: dict[str, Any] = {"results": results}
    if next_after is not None:
        body["paging"] = {"next": {"after": str(next_after), "link": f"?after={next_after}"}}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/{object_id}", name="objects_read")
async def objects_read(
    request: Request, kind: ObjectKind, object_id: str, sandbox: SandboxDep, store: StoreDep
) -> Response:
    params = request.query_params
    obj = find(store, kind, object_id, params.get("idProperty"), flag(params.get("archived")))
    if obj is None:
        raise object_not_found()
    history = names(params.getlist("propertiesWithHistory"))
    associations = [object_type(t) for t in names(params.getlist("associations"))]
    body = render(
        store,
        kind,
        obj,
        wanted_properties(store, kind, names(params.getlist("properties"))),
        at_ms=epoch_ms(sandbox.now()),
        history=wanted_properties(store, kind, history) if history else [],
        associations=associations,
    )
    return json_response(body)


@router.patch("/{object_id}", name="objects_update")
async def objects_update(
    request: Request, kind: ObjectKind, object_id: str, sandbox: SandboxDep, store: StoreDep
) -> Response:
    _, values = await _properties(request)
    with store.lock:
        obj = find(store, kind, object_id, request.query_params.get("idProperty"), False)
        if obj is None:
            raise object_not_found()
        check_properties(store, sandbox.config.hs_portal_id, kind, values)
        now = sandbox.now()
        updated = store.update(kind, obj.id, values, now)
        return json_response(
            render(store, kind, updated, written_properties(values), at_ms=epoch_ms(now))
        )


@router.post("", name="objects_create")
async def objects_create(
    request: Request, kind: ObjectKind, sandbox: SandboxDep, store: StoreDep
) -> Response:
    body, values = await _properties(request)
    links = body.get("associations") or []
    if not isinstance(links, list) or not all(isinstance(a, dict) for a in links):
        raise invalid("associations must be a list of {to, types}")
    check_properties(store, sandbox.config.hs_portal_id, kind, values)
    with store.lock:
        now = sandbox.now()
        created = store.create(kind, values, now)
        for link in links:
            to_id = str((link.get("to") or {}).get("id", ""))
            target = next((t for t in store.objects if store.get(t, to_id)), None)
            for spec in link.get("types") or []:
                type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
                if target is None or not isinstance(type_id, int):
                    raise invalid(f"Invalid association to {to_id}")
                store.associate(kind, created.id, target, to_id, type_id)
        names_shown = written_properties(values, "hs_createdate")
        return json_response(render(store, kind, created, names_shown, at_ms=epoch_ms(now)), 201)


@router.delete("/{object_id}", name="objects_archive")
async def objects_archive(
    kind: ObjectKind, object_id: str, sandbox: SandboxDep, store: StoreDep
) -> Response:
    with store.lock:
        store.archive(kind, object_id, sandbox.now())
    return Response(status_code=204)
