"""SOQL: query and queryAll, their first page and the pages behind a query locator.

A query runs once; its rows wait in `QueryCursors` under a locator, and each further page
(`nextRecordsUrl` = .../query/{locator}-{offset}) renders only its own slice. The page size
is the org's default, or what the `Sforce-Query-Options: batchSize=N` header asks for.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.salesforce.cursors import QueryCursor, QueryCursors
from sandbox.crm.salesforce.deps import Authed, Cursors, StoreDep, Version
from sandbox.crm.salesforce.soql import SoqlError
from sandbox.crm.salesforce.soql_eval import compile_query
from sandbox.crm.salesforce.store import SalesforceStore
from sandbox.crm.salesforce.wire import batch_size
from sandbox.crm.sandbox import Sandbox

__all__ = ["router"]

router = APIRouter(prefix="/services/data/v{version}")


def _page(
    store: SalesforceStore,
    cursors: QueryCursors,
    cursor: QueryCursor,
    offset: int,
    size: int,
    version: str,
    locator: str | None,
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


def _first_page(
    request: Request,
    version: str,
    endpoint: str,
    sandbox: Sandbox,
    cursors: QueryCursors,
) -> Response:
    text = request.query_params.get("q")
    if text is None:
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
    store = sandbox.salesforce
    with store.lock:
        try:
            compiled = compile_query(text, store, sandbox.now())
        except SoqlError as error:
            raise SalesforceError(400, error.code, error.message) from error
        rows = compiled.run(include_deleted=endpoint == "queryAll")
    if compiled.is_count:
        return json_response({"totalSize": len(rows), "done": True, "records": []})
    page_size = batch_size(request, sandbox.config.sf_query_page_size)
    cursor = QueryCursor(compiled, rows, endpoint, page_size)
    return _page(store, cursors, cursor, 0, cursor.page_size, version, None)


def _next_page(
    request: Request, version: str, locator: str, store: SalesforceStore, cursors: QueryCursors
) -> Response:
    base, _, offset_text = locator.rpartition("-")
    cursor = cursors.get(base) if offset_text.isdigit() else None
    if cursor is None or int(offset_text) > len(cursor.rows):
        raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    size = batch_size(request, cursor.page_size)
    return _page(store, cursors, cursor, int(offset_text), size, version, base)


@router.get("/query", name="query")
async def query(
    request: Request, version: Version, _auth: Authed, sandbox: SandboxDep, cursors: Cursors
) -> Response:
    return _first_page(request, version, "query", sandbox, cursors)


@router.get("/queryAll", name="query_all")
async def query_all(
    request: Request, version: Version, _auth: Authed, sandbox: SandboxDep, cursors: Cursors
) -> Response:
    return _first_page(request, version, "queryAll", sandbox, cursors)


@router.get("/query/{locator}", name="query_more")
async def query_more(
    request: Request,
    version: Version,
    locator: str,
    _auth: Authed,
    store: StoreDep,
    cursors: Cursors,
) -> Response:
    return _next_page(request, version, locator, store, cursors)


@router.get("/queryAll/{locator}", name="query_all_more")
async def query_all_more(
    request: Request,
    version: Version,
    locator: str,
    _auth: Authed,
    store: StoreDep,
    cursors: Cursors,
) -> Response:
    return _next_page(request, version, locator, store, cursors)
