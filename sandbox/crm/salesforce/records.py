"""One record: read (optionally some `fields`), create, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.salesforce.deps import Authed, SObject, StoreDep, Version
from sandbox.crm.salesforce.store import JsonValueError, RecordError
from sandbox.crm.salesforce.wire import not_found, read_json

__all__ = ["router"]

router = APIRouter(prefix="/services/data/v{version}/sobjects/{sobject}")


def _refused(errors: list[RecordError]) -> SalesforceError:
    first = errors[0]
    return SalesforceError(400, first.status_code, first.message, fields=first.fields)


def _parse_error(error: JsonValueError) -> SalesforceError:
    return SalesforceError(400, "JSON_PARSER_ERROR", str(error))


async def _values(request: Request, refusal: str) -> dict[str, Any]:
    """The body's field values, without the `attributes` Salesforce clients may send along."""
    values = await read_json(request)
    if not isinstance(values, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", refusal)
    values.pop("attributes", None)
    return values


@router.get("/{record_id}", name="record")
async def record(
    request: Request,
    version: Version,
    record_id: str,
    _auth: Authed,
    schema: SObject,
    store: StoreDep,
) -> Response:
    found = store.get(record_id)
    if found is None or found[0] != schema.name or found[1].get("IsDeleted"):
        raise not_found()
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


@router.patch("/{record_id}", name="record_update")
async def record_update(
    request: Request,
    version: Version,
    record_id: str,
    _auth: Authed,
    schema: SObject,
    sandbox: SandboxDep,
    store: StoreDep,
) -> Response:
    values = await _values(request, "Cannot deserialize instance of sObject from START_ARRAY")
    with store.lock:
        if store.get(record_id) is None:
            raise not_found()
        try:
            changes, errors = store.plan_update(schema.name, record_id, values)
        except JsonValueError as error:
            raise _parse_error(error) from error
        if errors or changes is None:
            raise _refused(errors)
        store.apply_update(schema.name, record_id, changes, sandbox.now())
    return Response(status_code=204)


@router.post("", name="record_create")
async def record_create(
    request: Request,
    version: Version,
    _auth: Authed,
    schema: SObject,
    sandbox: SandboxDep,
    store: StoreDep,
) -> Response:
    values = await _values(request, "Cannot deserialize instance of sObject")
    with store.lock:
        try:
            fields, errors = store.plan_insert(schema.name, values)
        except JsonValueError as error:
            raise _parse_error(error) from error
        if errors or fields is None:
            raise _refused(errors)
        record_id = store.insert(schema.name, fields, sandbox.now())
    return json_response({"id": record_id, "success": True, "errors": []}, 201)


@router.delete("/{record_id}", name="record_delete")
async def record_delete(
    version: Version,
    record_id: str,
    _auth: Authed,
    schema: SObject,
    sandbox: SandboxDep,
    store: StoreDep,
) -> Response:
    with store.lock:
        found = store.get(record_id)
        if found is None or found[0] != schema.name:
            raise not_found()
        if store.delete(record_id, sandbox.now()) is None:
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", fields=[])
    return Response(status_code=204)
