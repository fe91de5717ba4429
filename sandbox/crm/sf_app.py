"""The Salesforce REST API subset, as a FastAPI app served over HTTPS.

POST /services/oauth2/token
GET  /services/data, /services/data/vNN.N
GET  .../sobjects, .../sobjects/{type}, .../sobjects/{type}/describe
GET  .../sobjects/{type}/updated, .../sobjects/{type}/deleted   (replication windows)
GET  .../sobjects/{type}/{id}           PATCH .../sobjects/{type}/{id}
GET  .../query?q=, .../queryAll?q=, .../query/{locator}, .../queryAll/{locator}
PATCH .../composite/sobjects            (sObject Collections update, <= 200)
GET  .../limits
.../jobs/query...                       (Bulk API 2.0 query jobs, see sf_bulk)
.../jobs/ingest...                      (Bulk API 2.0 ingest jobs, see sf_ingest)
POST .../tooling/sobjects/CustomField   (see sf_tooling)
"""

import base64
import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from sandbox.crm.admin import admin_router
from sandbox.crm.errors import OAuthError, SalesforceError, SandboxError, json_response
from sandbox.crm.ids import KEY_PREFIXES, to18
from sandbox.crm.middleware import ApiMiddleware, salesforce_fault
from sandbox.crm.sandbox import Sandbox
from sandbox.crm.sf_schema import ObjectSchema, describe_field
from sandbox.crm.sf_store import JsonValueError, RecordError
from sandbox.crm.sf_writes import PlannedUpdate, save_updates
from sandbox.crm.soql import SoqlError
from sandbox.crm.soql_eval import CompiledQuery, compile_query
from sandbox.crm.timefmt import parse_iso, sf_format

__all__ = ["build_salesforce_app"]

NOT_FOUND = "The requested resource does not exist"
_LOCATOR_PREFIX = KEY_PREFIXES["QueryLocator"]


@dataclass
class _Cursor:
    compiled: CompiledQuery
    rows: list[dict[str, Any]]
    endpoint: str
    page_size: int


class QueryCursors:
    """Open query locators ('01g...-2000'): the newest 200, each dropped after 15 idle minutes."""

    def __init__(self, limit: int = 200, idle_seconds: float = 900.0) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._used: dict[str, float] = {}
        self._numbers = itertools.count(1)
        self.limit = limit
        self.idle_seconds = idle_seconds

    def open(self, cursor: _Cursor) -> str:
        with self._lock:
            number = next(self._numbers)
            locator = to18(f"{_LOCATOR_PREFIX}9Z{number:010d}")
            self._cursors[locator] = cursor
            self._used[locator] = time.monotonic()
            while len(self._cursors) > self.limit:
                old, _ = self._cursors.popitem(last=False)
                self._used.pop(old, None)
            return locator

    def get(self, locator: str) -> _Cursor | None:
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is None:
                return None
            if time.monotonic() - self._used[locator] > self.idle_seconds:
                del self._cursors[locator]
                del self._used[locator]
                return None
            self._cursors.move_to_end(locator)
            self._used[locator] = time.monotonic()
            return cursor


def _version(version: str, sandbox: Sandbox) -> str:
    try:
        number = float(version)
    except ValueError:
        number = -1.0
    cfg = sandbox.config
    if not cfg.sf_min_api_version <= number <= cfg.sf_max_api_version or "." not in version:
        raise SalesforceError(404, "NOT_FOUND", NOT_FOUND)
    return version


def _batch_size(request: Request, default: int) -> int:
    header = request.headers.get("sforce-query-options", "")
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(200, min(2000, int(value)))
    return default


def build_salesforce_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    cursors = QueryCursors()
    store = sandbox.salesforce
    page_default = sandbox.config.sf_query_page_size

    @app.exception_handler(SandboxError)
    async def sandbox_error(_request: Request, error: SandboxError) -> Response:
        return error.response()

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> Response:
        if error.status_code == 405:
            body = [
                {
                    "errorCode": "METHOD_NOT_ALLOWED",
                    "message": f"HTTP Method not allowed: {error.detail}",
                }
            ]
            return json_response(body, 405)
        return json_response([{"errorCode": "NOT_FOUND", "message": NOT_FOUND}], error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, _error: Exception) -> Response:
        message = "An unexpected error occurred. Please include this ErrorId if you contact support"
        return json_response([{"errorCode": "UNKNOWN_EXCEPTION", "message": message}], 500)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, _error: RequestValidationError) -> Response:
        return json_response([{"errorCode": "MALFORMED_QUERY", "message": "Bad request"}], 400)

    def session(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not sandbox.sessions.valid(token.strip()):
            raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if sandbox.use_salesforce_call() is None:
            raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    Authed = Annotated[None, Depends(session)]

    def api_version(version: str) -> str:
        return _version(version, sandbox)

    Version = Annotated[str, Depends(api_version)]

    def schema_of(name: str) -> ObjectSchema:
        schema = store.schema(name)
        if schema is None:
            raise SalesforceError(404, "NOT_FOUND", NOT_FOUND)
        return schema

    # OAuth ---------------------------------------------------------------------------------
    @app.post("/services/oauth2/token", name="oauth_token")
    async def oauth_token(request: Request) -> Response:
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

    # versions and resources -------------------------------------------------------------
    @app.get("/services/data", name="versions")
    async def versions() -> Response:
        low, high = int(sandbox.config.sf_min_api_version), int(sandbox.config.sf_max_api_version)
        body = [
            {"label": f"v{n}.0", "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
            for n in range(low, high + 1)
        ]
        return json_response(body)

    @app.get("/services/data/v{version}", name="resources")
    async def resources(version: Version, _auth: Authed) -> Response:
        base = f"/services/data/v{version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs", "tooling")
        return json_response({name: f"{base}/{name}" for name in names})

    @app.get("/services/data/v{version}/limits", name="limits")
    async def limits(version: Version, _auth: Authed) -> Response:
        cfg = sandbox.config
        body = {
            "DailyApiRequests": {
                "Max": cfg.sf_daily_api_max,
                "Remaining": max(0, cfg.sf_daily_api_max - sandbox.sf_api_used),
            },
            "DailyBulkV2QueryJobs": {
                "Max": cfg.sf_daily_bulk_query_jobs_max,
                "Remaining": max(0, cfg.sf_daily_bulk_query_jobs_max - sandbox.sf_bulk_jobs_used),
            },
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DataStorageMB": {"Max": 1024, "Remaining": 1000},
        }
        return json_response(body)

    # describe ---------------------------------------------------------------------------
    def sobject_summary(schema: ObjectSchema, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{schema.name}"
        writable = any(f.updateable for f in schema.fields.values())
        return {
            "activateable": False,
            "createable": writable,
            "custom": schema.custom,
            "customSetting": False,
            "deletable": writable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "keyPrefix": schema.key_prefix,
            "label": schema.name,
            "labelPlural": schema.name + "s",
            "layoutable": True,
            "mergeable": False,
            "mruEnabled": True,
            "name": schema.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": writable,
            "updateable": writable,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }

    @app.get("/services/data/v{version}/sobjects", name="describe_global")
    async def describe_global(version: Version, _auth: Authed) -> Response:
        sobjects = [sobject_summary(s, version) for _, s in sorted(store.schemas.items())]
        return json_response({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})

    @app.get("/services/data/v{version}/sobjects/{sobject}", name="sobject_info")
    async def sobject_info(version: Version, sobject: str, _auth: Authed) -> Response:
        schema = schema_of(sobject)
        return json_response(
            {"objectDescribe": sobject_summary(schema, version), "recentItems": []}
        )

    @app.get("/services/data/v{version}/sobjects/{sobject}/describe", name="describe")
    async def describe(version: Version, sobject: str, _auth: Authed) -> Response:
        schema = schema_of(sobject)
        children = [
            {
                "cascadeDelete": False,
                "childSObject": other.name,
                "deprecatedAndHidden": False,
                "field": f.name,
                "relationshipName": None if f.polymorphic else f"{other.name}s",
            }
            for other in store.schemas.values()
            for f in other.fields.values()
            if schema.name in f.reference_to
        ]
        body = {
            **sobject_summary(schema, version),
            "fields": [describe_field(f) for f in schema.fields.values()],
            "childRelationships": children,
            "recordTypeInfos": [],
            "supportedScopes": [{"label": "All", "name": "everything"}],
        }
        return json_response(body)

    # replication windows ------------------------------------------------------------------
    def window(request: Request) -> tuple[str, str]:
        try:
            start = parse_iso(request.query_params["start"])
            end = parse_iso(request.query_params["end"])
        except (KeyError, ValueError) as error:
            raise SalesforceError(
                400, "INVALID_REPLICATION_DATE", "start and end must be datetimes"
            ) from error
        now = sandbox.now()
        if end <= start:
            raise SalesforceError(
                400, "INVALID_REPLICATION_DATE", "end date cannot be before start date"
            )
        if start < now - timedelta(days=30):
            raise SalesforceError(
                400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago"
            )
        return sf_format(start), sf_format(min(end, now))

    @app.get("/services/data/v{version}/sobjects/{sobject}/updated", name="updated")
    async def updated(request: Request, version: Version, sobject: str, _auth: Authed) -> Response:
        schema = schema_of(sobject)
        start, end = window(request)
        with store.lock:
            ids = store.updated_ids(schema.name, start, end)
        if len(ids) > 600_000:
            raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "too many ids: narrow the window")
        return json_response({"ids": ids, "latestDateCovered": end})

    @app.get("/services/data/v{version}/sobjects/{sobject}/deleted", name="deleted")
    async def deleted(request: Request, version: Version, sobject: str, _auth: Authed) -> Response:
        schema = schema_of(sobject)
        start, end = window(request)
        with store.lock:
            rows = store.deleted_rows(schema.name, start, end)
        if len(rows) > 600_000:
            raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "too many ids: narrow the window")
        earliest = sf_format(sandbox.now() - timedelta(days=15))
        body = {
            "deletedRecords": [{"id": i, "deletedDate": d} for i, d in rows],
            "earliestDateAvailable": earliest,
            "latestDateCovered": end,
        }
        return json_response(body)

    # records -------------------------------------------------------------------------------
    @app.get("/services/data/v{version}/sobjects/{sobject}/{record_id}", name="record")
    async def record(
        request: Request, version: Version, sobject: str, record_id: str, _auth: Authed
    ) -> Response:
        schema = schema_of(sobject)
        found = store.get(record_id)
        if found is None or found[0] != schema.name or found[1].get("IsDeleted"):
            raise SalesforceError(404, "NOT_FOUND", NOT_FOUND)
        row = found[1]
        wanted = request.query_params.get("fields")
        names = list(schema.fields)
        if wanted:
            names = []
            for name in wanted.split(","):
                f = schema.field(name.strip())
                if f is None:
                    raise SalesforceError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name.strip()}' on sobject of type {schema.name}",
                    )
                names.append(f.name)
        url = f"/services/data/v{version}/sobjects/{schema.name}/{row['Id']}"
        body = {"attributes": {"type": schema.name, "url": url}, **{n: row.get(n) for n in names}}
        return json_response(body)

    @app.patch("/services/data/v{version}/sobjects/{sobject}/{record_id}", name="record_update")
    async def record_update(
        request: Request, version: Version, sobject: str, record_id: str, _auth: Authed
    ) -> Response:
        schema = schema_of(sobject)
        values = await json_body(request)
        if not isinstance(values, dict):
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from START_ARRAY"
            )
        values.pop("attributes", None)
        with store.lock:
            if store.get(record_id) is None:
                raise SalesforceError(404, "NOT_FOUND", NOT_FOUND)
            try:
                changes, errors = store.plan_update(schema.name, record_id, values)
            except JsonValueError as error:
                raise SalesforceError(400, "JSON_PARSER_ERROR", str(error)) from error
            if errors or changes is None:
                first = errors[0]
                raise SalesforceError(400, first.status_code, first.message, fields=first.fields)
            store.apply_update(schema.name, record_id, changes, sandbox.now())
        return Response(status_code=204)

    @app.post("/services/data/v{version}/sobjects/{sobject}", name="record_create")
    async def record_create(
        request: Request, version: Version, sobject: str, _auth: Authed
    ) -> Response:
        schema = schema_of(sobject)
        values = await json_body(request)
        if not isinstance(values, dict):
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject"
            )
        values.pop("attributes", None)
        with store.lock:
            try:
                fields, errors = store.plan_insert(schema.name, values)
            except JsonValueError as error:
                raise SalesforceError(400, "JSON_PARSER_ERROR", str(error)) from error
            if errors or fields is None:
                first = errors[0]
                raise SalesforceError(400, first.status_code, first.message, fields=first.fields)
            record_id = store.insert(schema.name, fields, sandbox.now())
        return json_response({"id": record_id, "success": True, "errors": []}, 201)

    @app.delete("/services/data/v{version}/sobjects/{sobject}/{record_id}", name="record_delete")
    async def record_delete(
        version: Version, sobject: str, record_id: str, _auth: Authed
    ) -> Response:
        schema = schema_of(sobject)
        with store.lock:
            found = store.get(record_id)
            if found is None or found[0] != schema.name:
                raise SalesforceError(404, "NOT_FOUND", NOT_FOUND)
            if store.delete(record_id, sandbox.now()) is None:
                raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", fields=[])
        return Response(status_code=204)

    # queries -------------------------------------------------------------------------------
    def first_page(request: Request, version: str, endpoint: str) -> Response:
        text = request.query_params.get("q")
        if text is None:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        with store.lock:
            try:
                compiled = compile_query(text, store, sandbox.now())
            except SoqlError as error:
                raise SalesforceError(400, error.code, error.message) from error
            rows = compiled.run(include_deleted=endpoint == "queryAll")
        if compiled.is_count:
            return json_response({"totalSize": len(rows), "done": True, "records": []})
        cursor = _Cursor(compiled, rows, endpoint, _batch_size(request, page_default))
        return page(cursor, 0, cursor.page_size, version, None)

    def page(
        cursor: _Cursor, offset: int, size: int, version: str, locator: str | None
    ) -> Response:
        rows = cursor.rows
        end = min(len(rows), offset + size)
        with store.lock:
            records = [cursor.compiled.render(row, version) for row in rows[offset:end]]
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            locator = locator or cursors.open(cursor)
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.endpoint}/{locator}-{end}"
        body["records"] = records
        return Response(orjson.dumps(body), media_type="application/json")

    def next_page(request: Request, version: str, locator: str) -> Response:
        base, _, offset_text = locator.rpartition("-")
        cursor = cursors.get(base) if offset_text.isdigit() else None
        if cursor is None or int(offset_text) > len(cursor.rows):
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return page(cursor, int(offset_text), _batch_size(request, cursor.page_size), version, base)

    @app.get("/services/data/v{version}/query", name="query")
    async def query(request: Request, version: Version, _auth: Authed) -> Response:
        return first_page(request, version, "query")

    @app.get("/services/data/v{version}/queryAll", name="query_all")
    async def query_all(request: Request, version: Version, _auth: Authed) -> Response:
        return first_page(request, version, "queryAll")

    @app.get("/services/data/v{version}/query/{locator}", name="query_more")
    async def query_more(
        request: Request, version: Version, locator: str, _auth: Authed
    ) -> Response:
        return next_page(request, version, locator)

    @app.get("/services/data/v{version}/queryAll/{locator}", name="query_all_more")
    async def query_all_more(
        request: Request, version: Version, locator: str, _auth: Authed
    ) -> Response:
        return next_page(request, version, locator)

    # sObject Collections --------------------------------------------------------------------
    @app.patch("/services/data/v{version}/composite/sobjects", name="collections_update")
    async def collections_update(request: Request, version: Version, _auth: Authed) -> Response:
        body = await json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of list from VALUE_NULL"
            )
        if len(records) > 200:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        all_or_none = bool(body.get("allOrNone", False))
        plans: list[PlannedUpdate] = []
        with store.lock:
            for item in records:
                if not isinstance(item, dict):
                    raise SalesforceError(
                        400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject"
                    )
                values = dict(item)
                attributes = values.pop("attributes", None) or {}
                object_name = attributes.get("type") if isinstance(attributes, dict) else None
                if not object_name:
                    raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
                record_id = values.pop("id", None) or values.pop("Id", None)
                if not record_id:
                    error = RecordError(
                        "MISSING_ARGUMENT", "Id not specified in an update call", []
                    )
                    plans.append(PlannedUpdate(object_name, "", None, [error]))
                    continue
                try:
                    changes, errors = store.plan_update(object_name, str(record_id), values)
                except JsonValueError as error:
                    raise SalesforceError(400, "JSON_PARSER_ERROR", str(error)) from error
                plans.append(PlannedUpdate(object_name, str(record_id), changes, errors))
            saved = save_updates(sandbox, request.url.path, plans, all_or_none)
        results: list[dict[str, Any]] = [
            {"success": False, "errors": [e.as_json() for e in errors]}
            if errors
            else {"id": to18(plan.record_id), "success": True, "errors": []}
            for plan, errors in zip(plans, saved, strict=True)
        ]
        return json_response(results)

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        try:
            return orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError as error:
            raise SalesforceError(
                400, "JSON_PARSER_ERROR", f"Unexpected character: {error}"
            ) from error

    app.state.json_body = json_body
    app.state.session = session
    app.state.api_version = api_version
    app.state.cursors = cursors

    from sandbox.crm.sf_bulk import add_bulk_routes
    from sandbox.crm.sf_ingest import add_ingest_routes
    from sandbox.crm.sf_tooling import add_tooling_routes

    add_bulk_routes(app, sandbox)
    add_ingest_routes(app, sandbox)
    add_tooling_routes(app, sandbox)
    app.include_router(admin_router(sandbox))

    def headers(_scope: Scope) -> list[tuple[bytes, bytes]]:
        usage = f"api-usage={sandbox.sf_api_used}/{sandbox.config.sf_daily_api_max}"
        return [(b"sforce-limit-info", usage.encode())]

    app.add_middleware(
        ApiMiddleware,
        sandbox=sandbox,
        api="salesforce",
        router=app.router,
        fault_response=lambda fault, _scope: salesforce_fault(fault, sandbox),
        headers=headers,
    )
    return app
