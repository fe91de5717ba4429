"""Tooling API: custom fields created with POST tooling/sobjects/CustomField.

A created field appears in describe, is null on every row, and becomes queryable and writable.
"""

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.errors import SalesforceError, json_response
from sandbox.crm.salesforce.deps import Authed, StoreDep, Version
from sandbox.crm.salesforce.schema import custom_field_type
from sandbox.crm.salesforce.wire import read_json

__all__ = ["router"]

router = APIRouter()

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")


@router.post("/services/data/v{version}/tooling/sobjects/CustomField", name="tooling_custom_field")
async def create_custom_field(
    request: Request, version: Version, _auth: Authed, store: StoreDep
) -> Response:
    body: Any = await read_json(request)
    if not isinstance(body, dict):
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of CustomField"
        )
    full_name = str(body.get("FullName", ""))
    metadata = body.get("Metadata") or {}
    object_name, _, field_name = full_name.partition(".")
    if not field_name or not isinstance(metadata, dict):
        raise SalesforceError(
            400,
            "INVALID_FIELD",
            "FullName must be Object.Field__c and Metadata is required",
            fields=["FullName"],
        )
    if not _NAME.match(field_name) or "__" in field_name[:-3]:
        raise SalesforceError(
            400, "INVALID_FIELD", f"Invalid field name: {field_name}", fields=["FullName"]
        )
    type_name = str(metadata.get("type", ""))
    sf_type = custom_field_type(type_name)
    if sf_type is None:
        raise SalesforceError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            f"Invalid field type: {type_name}",
            fields=["Metadata"],
        )
    label = str(metadata.get("label") or field_name[:-3].replace("_", " "))
    length_raw = metadata.get("length")
    length = (
        int(length_raw) if isinstance(length_raw, int | str) and str(length_raw).isdigit() else None
    )
    with store.lock:
        schema = store.schema(object_name)
        if schema is None:
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{object_name}' is not supported."
            )
        if schema.field(field_name) is not None:
            raise SalesforceError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {field_name} on {schema.name}.",
                fields=[],
            )
        field_id = store.add_custom_field(schema.name, field_name, sf_type, label, length)
    return json_response(
        {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201
    )
