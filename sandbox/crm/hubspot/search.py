"""POST /crm/v3/objects/{type}/search: filterGroups, one sort, a free-text query, paged by
`after`; limit <= 200, and 10,000 results at most (`hs_search_result_cap`)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.hubspot.deps import ObjectKind, SearchCacheDep, StoreDep
from sandbox.crm.hubspot.render import render, wanted_properties
from sandbox.crm.hubspot.search_filters import FilterLimits, compile_filter_groups
from sandbox.crm.hubspot.wire import invalid, read_json
from sandbox.crm.timefmt import epoch_ms

__all__ = ["router"]

router = APIRouter()

_MAX_LIMIT = 200


@router.post("/crm/v3/objects/{object_type}/search", name="search")
async def search(
    request: Request,
    kind: ObjectKind,
    sandbox: SandboxDep,
    store: StoreDep,
    cache: SearchCacheDep,
) -> Response:
    body = await read_json(request)
    limit = body.get("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise invalid(f"Invalid limit: {limit}")
    if limit > _MAX_LIMIT:
        raise invalid(f"limit must be less than or equal to 200, but was {limit}")
    after_raw = body.get("after", 0) or 0
    try:
        after = int(after_raw)
    except (TypeError, ValueError) as error:
        raise invalid(f"Invalid after: {after_raw}") from error
    cap = sandbox.config.hs_search_result_cap
    if after + limit > cap:
        raise invalid(f"Paging is limited to {cap} results; narrow the search with filters.")
    filter_groups = body.get("filterGroups")
    config = sandbox.config
    limits = FilterLimits(
        config.hs_search_max_filter_groups,
        config.hs_search_max_filters_per_group,
        config.hs_search_max_filters,
    )
    matcher = compile_filter_groups(filter_groups, store.properties[kind], limits)
    sorts: Any = body.get("sorts") or []
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise invalid("Only one sort is supported")
    if sorts and not isinstance(sorts[0], str | dict):
        raise invalid("A sort is a property name or {propertyName, direction}")
    text = str(body.get("query") or "").casefold()
    properties = wanted_properties(store, kind, [str(p) for p in body.get("properties") or []])
    moment = epoch_ms(sandbox.now())
    with store.lock:
        rows = cache.rows(store, kind, filter_groups, matcher, sorts, text)
        page = [
            render(store, kind, obj, properties, at_ms=moment)
            for obj in rows[after : after + limit]
        ]
    answer: dict[str, Any] = {"total": len(rows), "results": page}
    if after + limit < len(rows):
        answer["paging"] = {"next": {"after": str(after + limit)}}
    return Response(orjson.dumps(answer), media_type="application/json")
