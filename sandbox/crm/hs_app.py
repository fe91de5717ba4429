"""The HubSpot CRM API subset, as a FastAPI app served over plain HTTP.

    GET   /crm/v3/objects/{type}                 list: limit <= 100, after, properties,
                                                 propertiesWithHistory, associations, archived
    GET   /crm/v3/objects/{type}/{id}            PATCH /crm/v3/objects/{type}/{id}
    POST  /crm/v3/objects/{type}/search          filterGroups, sorts, query, limit <= 200,
                                                 10,000 results at most
    POST  /crm/v3/objects/{type}/batch/read      <= 100; 200, or 207 with errors
    POST  /crm/v3/objects/{type}/batch/update    <= 100; 200, or 207 with errors
    POST  /crm/v4/associations/{from}/{to}/batch/read
    GET   /crm/v3/properties/{type}[/{name}]     POST creates; .../groups lists and creates groups
    GET   /crm/v3/pipelines/{type}[/{id}]        GET /crm/v3/owners[/{id}]
    POST  /oauth/v1/token                        refresh_token grant -> 30-minute access token

Every response carries X-HubSpot-RateLimit-* headers (search answers omit them, as HubSpot's
do); past the 10-second window, the daily allowance or the search rate, 429 with HubSpot's body.
Tokens and scopes are checked by `hs_auth` (401 INVALID/EXPIRED_AUTHENTICATION, 403 MISSING_SCOPES).
"""

import bisect
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import orjson
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from sandbox.crm.admin import admin_router
from sandbox.crm.errors import HubSpotError, SandboxError, json_response
from sandbox.crm.hs_auth import required_scopes
from sandbox.crm.hs_schema import (
    DEFAULT_PROPERTIES,
    ENGAGEMENT_DEFAULTS,
    PRIMARY_TYPE_IDS,
    PropertyDef,
    association_label,
    resolve_object_type,
    singular,
)
from sandbox.crm.hs_search import (
    TimeIndex,
    compile_filter_groups,
    lower_bound,
    search_sort_key,
)
from sandbox.crm.hs_store import HsObject
from sandbox.crm.middleware import ApiMiddleware, hubspot_fault
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.timefmt import epoch_ms, hs_format

__all__ = ["build_hubspot_app"]

_NO_AUTH = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_SEARCH_ENDPOINTS = frozenset({"search"})
_PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}


def _invalid(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, "VALIDATION_ERROR", message, extra=extra or None)


def _not_found(message: str) -> HubSpotError:
    return HubSpotError(404, "OBJECT_NOT_FOUND", message)


def _object_type(name: str) -> str:
    resolved = resolve_object_type(name)
    if resolved is None:
        raise _invalid(f"Unable to infer object type from: {name}")
    return resolved


def _names(values: list[str]) -> list[str]:
    """Query lists arrive repeated (?properties=a&properties=b) or comma-separated."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.lower() == "true"


def build_hubspot_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    store = sandbox.hubspot
    cfg = sandbox.config
    # The rows of recent searches, so that paging through one costs a slice, not a scan.
    search_cache: OrderedDict[tuple[str, bytes, int], list[HsObject]] = OrderedDict()
    time_index = TimeIndex()

    @app.exception_handler(SandboxError)
    async def sandbox_error(_request: Request, error: SandboxError) -> Response:
        return error.response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code == 405:
            return HubSpotError(
                405, "VALIDATION_ERROR", f"HTTP {request.method} is not supported by this resource"
            ).response()
        return HubSpotError(404, None, "Not Found").response()

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, _error: Exception) -> Response:
        return HubSpotError(500, "INTERNAL_ERROR", "internal error").response()

    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError as error:
            raise _invalid(f"Invalid input JSON on line 1: {error}") from error
        if not isinstance(body, dict):
            raise _invalid("Invalid input JSON: expected an object")
        return body

    def now_ms() -> int:
        return epoch_ms(sandbox.now())

    # rendering ---------------------------------------------------------------------------
    def wanted_properties(object_type: str, names: list[str] | None) -> list[str]:
        if not names:
            return list(DEFAULT_PROPERTIES.get(object_type, ENGAGEMENT_DEFAULTS))
        defs = store.properties[object_type]
        return [n for n in dict.fromkeys(names) if n in defs]

    def render(
        object_type: str,
        obj: HsObject,
        properties: list[str],
        history: list[str] | None = None,
        associations: list[str] | None = None,
        at_ms: int | None = None,
    ) -> dict[str, Any]:
        values = obj.properties
        body: dict[str, Any] = {
            "id": obj.id,
            "properties": {
                name: (obj.id if name == "hs_object_id" else values.get(name))
                for name in properties
            },
        }
        moment = at_ms if at_ms is not None else now_ms()
        if history:
            body["propertiesWithHistory"] = {
                name: store.history_of(object_type, obj, name, moment) for name in history
            }
        body["createdAt"] = obj.created_at
        body["updatedAt"] = obj.updated_at
        body["archived"] = obj.archived
        if obj.archived and obj.archived_at:
            body["archivedAt"] = obj.archived_at
        if associations:
            linked: dict[str, Any] = {}
            for to_type in associations:
                found = store.associated(object_type, obj.id, to_type, moment)
                if found:
                    linked[to_type] = {
                        "results": [
                            {"id": to_id, "type": association_label(t, object_type, to_type)}
                            for to_id, type_ids in found.items()
                            for t in type_ids
                        ]
                    }
            if linked:
                body["associations"] = linked
        return body

    # authentication and rate limits (the middleware's gate) -----------------------------------
    async def gate(scope: Scope, endpoint: str) -> SandboxError | None:
        if endpoint == "oauth_token":
            return None
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").decode().partition(" ")
        if scheme.lower() != "bearer":
            return HubSpotError(401, "INVALID_AUTHENTICATION", _NO_AUTH)
        query = parse_qs(scope.get("query_string", b"").decode())
        refused = sandbox.hs_tokens.authorize(
            token.strip(), required_scopes(scope["method"], scope["path"], query)
        )
        if refused is not None:
            return refused
        if not sandbox.use_hubspot_daily():
            return HubSpotError(
                429,
                None,
                "You have reached your daily limit.",
                extra={"errorType": "RATE_LIMIT", "policyName": "DAILY"},
            )
        if endpoint in _SEARCH_ENDPOINTS and sandbox.hs_search_window is not None:
            if not sandbox.hs_search_window.take():
                return HubSpotError(
                    429,
                    None,
                    "You have reached your secondly limit.",
                    extra={"errorType": "RATE_LIMIT", "policyName": "SECONDLY"},
                )
            return None
        if not sandbox.hs_window.take():
            return HubSpotError(
                429,
                None,
                "You have reached your ten_secondly_rolling limit.",
                extra={
                    "errorType": "RATE_LIMIT",
                    "policyName": "TEN_SECONDLY_ROLLING",
                    "groupName": f"publicapi:private-app:{cfg.hs_portal_id}",
                },
            )
        return None

    def rate_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
        if scope.get("state", {}).get("endpoint") in _SEARCH_ENDPOINTS:
            return []
        return [
            (b"x-hubspot-ratelimit-max", str(cfg.hs_ten_second_max).encode()),
            (b"x-hubspot-ratelimit-remaining", str(sandbox.hs_window.remaining()).encode()),
            (
                b"x-hubspot-ratelimit-interval-milliseconds",
                str(int(cfg.hs_ten_second_window * 1000)).encode(),
            ),
            (b"x-hubspot-ratelimit-daily", str(cfg.hs_daily_max).encode()),
            (
                b"x-hubspot-ratelimit-daily-remaining",
                str(max(0, cfg.hs_daily_max - sandbox.hs_daily_used)).encode(),
            ),
        ]

    # OAuth ---------------------------------------------------------------------------------
    @app.post("/oauth/v1/token", name="oauth_token")
    async def oauth_token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        return json_response(sandbox.hs_tokens.grant(form))

    # objects -------------------------------------------------------------------------------
    @app.get("/crm/v3/objects/{object_type}", name="objects_list")
    async def objects_list(request: Request, object_type: str) -> Response:
        kind = _object_type(object_type)
        params = request.query_params
        history = _names(params.getlist("propertiesWithHistory"))
        try:
            limit = int(params.get("limit", "10"))
        except ValueError as error:
            raise _invalid(f"Invalid limit: {params.get('limit')}") from error
        limit = max(1, min(limit, 50 if history else 100))
        after_text = params.get("after")
        if after_text is not None and not after_text.isdigit():
            raise _invalid(f"Invalid after: {after_text}")
        after = int(after_text or 0)
        associations = [_object_type(t) for t in _names(params.getlist("associations"))]
        archived = _bool(params.get("archived"))
        properties = wanted_properties(kind, _names(params.getlist("properties")))
        history = wanted_properties(kind, history) if history else []
        ids = store.ordered_ids(kind)
        table = store.objects[kind]
        results: list[dict[str, Any]] = []
        moment = now_ms()
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
                results.append(render(kind, obj, properties, history, associations, moment))
        body: dict[str, Any] = {"results": results}
        if next_after is not None:
            body["paging"] = {"next": {"after": str(next_after), "link": f"?after={next_after}"}}
        return Response(orjson.dumps(body), media_type="application/json")

    def find(kind: str, object_id: str, id_property: str | None, archived: bool) -> HsObject | None:
        if id_property and id_property != "hs_object_id":
            if id_property not in store.properties[kind]:
                raise _invalid(f"Unable to find property {id_property} to use as the idProperty")
            for candidate in store.all_objects(kind):
                if (
                    candidate.properties.get(id_property) == object_id
                    and candidate.archived == archived
                ):
                    return candidate
            return None
        found = store.get(kind, object_id)
        return found if found is not None and found.archived == archived else None

    @app.get("/crm/v3/objects/{object_type}/{object_id}", name="objects_read")
    async def objects_read(request: Request, object_type: str, object_id: str) -> Response:
        kind = _object_type(object_type)
        params = request.query_params
        obj = find(kind, object_id, params.get("idProperty"), _bool(params.get("archived")))
        if obj is None:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
            )
        history = _names(params.getlist("propertiesWithHistory"))
        associations = [_object_type(t) for t in _names(params.getlist("associations"))]
        body = render(
            kind,
            obj,
            wanted_properties(kind, _names(params.getlist("properties"))),
            wanted_properties(kind, history) if history else [],
            associations,
        )
        return json_response(body)

    def check_properties(kind: str, values: dict[str, Any]) -> None:
        problems = store.check_values(kind, values)
        if problems:
            details = [
                {
                    "isValid": False,
                    "message": p.message,
                    "error": p.error,
                    "name": p.name,
                    "localizedErrorMessage": p.message,
                    "portalId": cfg.hs_portal_id,
                }
                for p in problems
            ]
            message = "Property values were not valid: " + orjson.dumps(details).decode()
            errors = [
                {"message": p.message, "code": p.error, "context": {"propertyName": [p.name]}}
                for p in problems
            ]
            raise _invalid(message, errors=errors)

    @app.patch("/crm/v3/objects/{object_type}/{object_id}", name="objects_update")
    async def objects_update(request: Request, object_type: str, object_id: str) -> Response:
        kind = _object_type(object_type)
        body = await json_body(request)
        values = body.get("properties")
        if not isinstance(values, dict):
            raise _invalid("Properties are required")
        with store.lock:
            obj = find(kind, object_id, request.query_params.get("idProperty"), False)
            if obj is None:
                raise HubSpotError(
                    404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
                )
            check_properties(kind, values)
            updated = store.update(kind, obj.id, values, sandbox.now())
            names = [*dict.fromkeys([*values, "hs_lastmodifieddate", "hs_object_id"])]
            return json_response(render(kind, updated, names))

    @app.post("/crm/v3/objects/{object_type}", name="objects_create")
    async def objects_create(request: Request, object_type: str) -> Response:
        kind = _object_type(object_type)
        body = await json_body(request)
        values = body.get("properties")
        if not isinstance(values, dict):
            raise _invalid("Properties are required")
        links = body.get("associations") or []
        if not isinstance(links, list) or not all(isinstance(a, dict) for a in links):
            raise _invalid("associations must be a list of {to, types}")
        check_properties(kind, values)
        with store.lock:
            created = store.create(kind, values, sandbox.now())
            for link in links:
                to_id = str((link.get("to") or {}).get("id", ""))
                target = next((t for t in store.objects if store.get(t, to_id)), None)
                for spec in link.get("types") or []:
                    type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
                    if target is None or not isinstance(type_id, int):
                        raise _invalid(f"Invalid association to {to_id}")
                    store.associate(kind, created.id, target, to_id, type_id)
            names = [
                *dict.fromkeys([*values, "hs_createdate", "hs_lastmodifieddate", "hs_object_id"])
            ]
            return json_response(render(kind, created, names), 201)

    @app.delete("/crm/v3/objects/{object_type}/{object_id}", name="objects_archive")
    async def objects_archive(object_type: str, object_id: str) -> Response:
        kind = _object_type(object_type)
        with store.lock:
            store.archive(kind, object_id, sandbox.now())
        return Response(status_code=204)

    # search --------------------------------------------------------------------------------
    @app.post("/crm/v3/objects/{object_type}/search", name="search")
    async def search(request: Request, object_type: str) -> Response:
        kind = _object_type(object_type)
        body = await json_body(request)
        defs = store.properties[kind]
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise _invalid(f"Invalid limit: {limit}")
        if limit > 200:
            raise _invalid(f"limit must be less than or equal to 200, but was {limit}")
        after_raw = body.get("after", 0) or 0
        try:
            after = int(after_raw)
        except (TypeError, ValueError) as error:
            raise _invalid(f"Invalid after: {after_raw}") from error
        cap = cfg.hs_search_result_cap
        if after + limit > cap:
            raise _invalid(f"Paging is limited to {cap} results; narrow the search with filters.")
        matcher = compile_filter_groups(body.get("filterGroups"), defs)
        sorts = body.get("sorts") or []
        if not isinstance(sorts, list) or len(sorts) > 1:
            raise _invalid("Only one sort is supported")
        if sorts and not isinstance(sorts[0], str | dict):
            raise _invalid("A sort is a property name or {propertyName, direction}")
        text = str(body.get("query") or "").casefold()
        properties = wanted_properties(kind, [str(p) for p in body.get("properties") or []])
        with store.lock:
            key = (kind, orjson.dumps([body.get("filterGroups"), sorts, text]), store.version)
            rows = search_cache.get(key)
            if rows is None:
                bound = lower_bound(body.get("filterGroups"), defs)
                candidates = (
                    time_index.at_or_after(store.all_objects(kind), kind, *bound, store.version)
                    if bound is not None
                    else store.all_objects(kind)
                )
                rows = [
                    obj
                    for obj in candidates
                    if not obj.archived
                    and (matcher is None or matcher(obj))
                    and (
                        not text
                        or any(text in (v or "").casefold() for v in obj.properties.values())
                    )
                ]
                rows.sort(key=lambda o: int(o.id))
                if sorts:
                    sort = sorts[0]
                    name = sort if isinstance(sort, str) else sort.get("propertyName")
                    descending = (
                        not isinstance(sort, str)
                        and str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
                    )
                    if not isinstance(name, str) or (name not in defs and name != "hs_object_id"):
                        raise _invalid(f"Property '{name}' does not exist")
                    rows.sort(key=search_sort_key(name, defs), reverse=descending)
                search_cache[key] = rows
                while len(search_cache) > 32:
                    search_cache.popitem(last=False)
            page = [render(kind, obj, properties) for obj in rows[after : after + limit]]
        answer: dict[str, Any] = {"total": len(rows), "results": page}
        if after + limit < len(rows):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return Response(orjson.dumps(answer), media_type="application/json")

    # batch ---------------------------------------------------------------------------------
    def batch_inputs(body: dict[str, Any], limit: int = 100) -> list[dict[str, Any]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise _invalid("inputs must be a list of objects")
        if len(inputs) > limit:
            raise _invalid(f"Too many inputs: {len(inputs)}. The maximum batch size is {limit}.")
        return inputs

    def batch_response(
        results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str
    ) -> Response:
        """200, or 207 when some inputs have errors."""
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
        body["startedAt"] = started
        body["completedAt"] = hs_format(datetime.now(UTC))
        return json_response(body, 207 if errors else 200)

    def batch_answer(
        results: list[dict[str, Any]],
        missing: list[str],
        kind: str,
        started: str,
        refused: dict[tuple[str, str], list[str]] | None = None,
    ) -> Response:
        """200, or 207 with an error per cause naming its ids (`refused`: record faults)."""
        errors = [
            {"status": "error", "category": category, "message": message, "context": {"ids": ids}}
            for (category, message), ids in (refused or {}).items()
        ]
        if missing:
            errors.insert(
                0,
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {singular(kind).upper()} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                },
            )
        return batch_response(results, errors, started)

    @app.post("/crm/v3/objects/{object_type}/batch/read", name="batch_read")
    async def batch_read(request: Request, object_type: str) -> Response:
        started = hs_format(datetime.now(UTC))
        kind = _object_type(object_type)
        body = await json_body(request)
        inputs = batch_inputs(body)
        id_property = body.get("idProperty")
        archived = _bool(request.query_params.get("archived"))
        properties = wanted_properties(kind, [str(p) for p in body.get("properties") or []])
        history_names = [str(p) for p in body.get("propertiesWithHistory") or []]
        history = wanted_properties(kind, history_names) if history_names else []
        results, missing = [], []
        with store.lock:
            for item in inputs:
                object_id = str(item.get("id", ""))
                obj = find(kind, object_id, id_property, archived)
                if obj is None:
                    missing.append(object_id)
                else:
                    results.append(render(kind, obj, properties, history))
        return batch_answer(results, missing, kind, started)

    @app.post("/crm/v3/objects/{object_type}/batch/update", name="batch_update")
    async def batch_update(request: Request, object_type: str) -> Response:
        started = hs_format(datetime.now(UTC))
        kind = _object_type(object_type)
        body = await json_body(request)
        inputs = batch_inputs(body)
        ids = [str(i.get("id", "")) for i in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise _invalid(f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")
        for item in inputs:
            if not isinstance(item.get("properties"), dict):
                raise _invalid("Each input needs an id and properties")
            check_properties(kind, item["properties"])
        invalid = sandbox.faults.invalid_value("hubspot", request.url.path, ids)
        if invalid is not None:
            raise _invalid(
                "Property values were not valid: a value does not pass the property's "
                "validation rule",
                errors=[{"message": "does not pass the validation rule", "code": "INVALID"}],
            )
        results, missing = [], []
        refused: dict[tuple[str, str], list[str]] = {}
        now = sandbox.now()
        with store.lock:
            for item in inputs:
                obj = find(kind, str(item.get("id", "")), item.get("idProperty"), False)
                if obj is None:
                    missing.append(str(item.get("id", "")))
                    continue
                fault = sandbox.faults.record_error("hubspot", request.url.path, obj.id)
                if fault is not None:
                    refused.setdefault((fault.code, fault.record_message), []).append(obj.id)
                    continue
                values = item["properties"]
                updated = store.update(kind, obj.id, values, now)
                names = [*dict.fromkeys([*values, "hs_lastmodifieddate", "hs_object_id"])]
                results.append(render(kind, updated, names))
        return batch_answer(results, missing, kind, started, refused)

    # associations v4 ---------------------------------------------------------------------------
    @app.post(
        "/crm/v4/associations/{from_type}/{to_type}/batch/read", name="associations_batch_read"
    )
    async def associations_read(request: Request, from_type: str, to_type: str) -> Response:
        started = hs_format(datetime.now(UTC))
        source, target = _object_type(from_type), _object_type(to_type)
        inputs = batch_inputs(await json_body(request), limit=1000)
        moment = now_ms()
        results, errors = [], []
        with store.lock:
            for item in inputs:
                from_id = str(item.get("id", ""))
                found = (
                    store.associated(source, from_id, target, moment)
                    if store.get(source, from_id)
                    else {}
                )
                if not found:
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                            "message": (
                                f"No {singular(target)} is associated with "
                                f"{singular(source)} {from_id}."
                            ),
                            "context": {
                                "fromObjectId": [from_id],
                                "fromObjectType": [singular(source)],
                                "toObjectType": [singular(target)],
                            },
                        }
                    )
                    continue
                results.append(
                    {
                        "from": {"id": from_id},
                        "to": [
                            {
                                "toObjectId": int(to_id),
                                "associationTypes": [
                                    {
                                        "category": "HUBSPOT_DEFINED",
                                        "typeId": t,
                                        "label": "Primary" if t in PRIMARY_TYPE_IDS else None,
                                    }
                                    for t in type_ids
                                ],
                            }
                            for to_id, type_ids in found.items()
                        ],
                    }
                )
        return batch_response(results, errors, started)

    # properties --------------------------------------------------------------------------------
    @app.get("/crm/v3/properties/{object_type}", name="properties_list")
    async def properties_list(object_type: str) -> Response:
        kind = _object_type(object_type)
        return json_response({"results": [p.as_json() for p in store.properties[kind].values()]})

    @app.get("/crm/v3/properties/{object_type}/groups", name="property_groups_list")
    async def groups_list(object_type: str) -> Response:
        kind = _object_type(object_type)
        return json_response({"results": list(store.groups[kind].values())})

    @app.post("/crm/v3/properties/{object_type}/groups", name="property_groups_create")
    async def groups_create(request: Request, object_type: str) -> Response:
        kind = _object_type(object_type)
        body = await json_body(request)
        name, label = body.get("name"), body.get("label")
        order = body.get("displayOrder", -1)
        if not isinstance(name, str) or not name or not isinstance(label, str):
            raise _invalid("name and label are required")
        if not isinstance(order, int):
            raise _invalid(f"Invalid displayOrder: {order}")
        with store.lock:
            if name in store.groups[kind]:
                raise HubSpotError(
                    409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists."
                )
            group = {
                "name": name,
                "label": label,
                "displayOrder": order,
                "archived": False,
            }
            store.groups[kind][name] = group
        return json_response(group, 201)

    @app.get("/crm/v3/properties/{object_type}/groups/{group_name}", name="property_groups_read")
    async def groups_read(object_type: str, group_name: str) -> Response:
        kind = _object_type(object_type)
        group = store.groups[kind].get(group_name)
        if group is None:
            raise _not_found(f"Unable to find property group {group_name}")
        return json_response(group)

    @app.get("/crm/v3/properties/{object_type}/{property_name}", name="properties_read")
    async def properties_read(object_type: str, property_name: str) -> Response:
        kind = _object_type(object_type)
        prop = store.properties[kind].get(property_name)
        if prop is None:
            raise _not_found(f"Unable to find property {property_name}")
        return json_response(prop.as_json())

    @app.post("/crm/v3/properties/{object_type}", name="properties_create")
    async def properties_create(request: Request, object_type: str) -> Response:
        kind = _object_type(object_type)
        body = await json_body(request)
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise _invalid(f"Missing required fields: {', '.join(missing)}")
        if body["type"] not in _PROPERTY_TYPES:
            raise _invalid(f"Invalid property type: {body['type']}")
        options = body.get("options") or []
        if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
            raise _invalid("options must be a list of {label, value} objects")
        name = str(body["name"])
        with store.lock:
            if name in store.properties[kind]:
                raise HubSpotError(
                    409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists."
                )
            if body["groupName"] not in store.groups[kind]:
                raise _invalid(f"Property group {body['groupName']} does not exist")
            stamp = hs_format(sandbox.now())
            prop = PropertyDef(
                name=name,
                type=body["type"],
                field_type=str(body["fieldType"]),
                label=str(body["label"]),
                group_name=str(body["groupName"]),
                description=str(body.get("description") or ""),
                options=options,
                hubspot_defined=False,
                created_at=stamp,
                updated_at=stamp,
            )
            store.properties[kind][name] = prop
        return json_response(prop.as_json(), 201)

    # pipelines and owners ---------------------------------------------------------------------
    def pipelines_for(object_type: str) -> list[dict[str, Any]]:
        if object_type == "deals":
            return store.pipelines
        if object_type == "tickets":
            return []
        raise _invalid(f"Unable to infer object type from: {object_type}")

    @app.get("/crm/v3/pipelines/{object_type}", name="pipelines_list")
    async def pipelines_list(object_type: str) -> Response:
        return json_response({"results": pipelines_for(object_type)})

    @app.get("/crm/v3/pipelines/{object_type}/{pipeline_id}", name="pipelines_read")
    async def pipelines_read(object_type: str, pipeline_id: str) -> Response:
        for pipeline in pipelines_for(object_type):
            if pipeline.get("id") == pipeline_id:
                return json_response(pipeline)
        raise _not_found(f"Unable to find pipeline {pipeline_id}")

    @app.get("/crm/v3/pipelines/{object_type}/{pipeline_id}/stages", name="pipeline_stages")
    async def pipeline_stages(object_type: str, pipeline_id: str) -> Response:
        for pipeline in pipelines_for(object_type):
            if pipeline.get("id") == pipeline_id:
                return json_response({"results": pipeline.get("stages", [])})
        raise _not_found(f"Unable to find pipeline {pipeline_id}")

    @app.get("/crm/v3/owners", name="owners_list")
    async def owners_list(request: Request) -> Response:
        params = request.query_params
        try:
            limit = max(1, min(int(params.get("limit", "100")), 500))
            after = int(params.get("after") or 0)
        except ValueError as error:
            raise _invalid("Invalid limit or after") from error
        archived = _bool(params.get("archived"))
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

    @app.get("/crm/v3/owners/{owner_id}", name="owners_read")
    async def owners_read(request: Request, owner_id: str) -> Response:
        id_property = request.query_params.get("idProperty", "id")
        for owner in store.owners.values():
            key = str(owner.get("userId")) if id_property == "userId" else owner["id"]
            if key == owner_id:
                return json_response(owner)
        raise _not_found(f"Unable to find owner {owner_id}")

    app.include_router(admin_router(sandbox))
    app.add_middleware(
        ApiMiddleware,
        sandbox=sandbox,
        api="hubspot",
        router=app.router,
        fault_response=lambda fault, _scope: hubspot_fault(fault, sandbox),
        headers=rate_headers,
        gate=gate,
    )
    return app
