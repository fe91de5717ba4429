"""Describe: the org's sObjects, one sObject's summary, and its full describe (fields, children)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from sandbox.crm.errors import json_response
from sandbox.crm.salesforce.deps import Authed, SObject, StoreDep, Version
from sandbox.crm.salesforce.schema import ObjectSchema, describe_field

__all__ = ["router"]

router = APIRouter(prefix="/services/data/v{version}/sobjects")


def _summary(schema: ObjectSchema, version: str) -> dict[str, Any]:
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


@router.get("", name="describe_global")
async def describe_global(version: Version, _auth: Authed, store: StoreDep) -> Response:
    sobjects = [_summary(s, version) for _, s in sorted(store.schemas.items())]
    return json_response({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})


@router.get("/{sobject}", name="sobject_info")
async def sobject_info(version: Version, _auth: Authed, schema: SObject) -> Response:
    return json_response({"objectDescribe": _summary(schema, version), "recentItems": []})


@router.get("/{sobject}/describe", name="describe")
async def describe(version: Version, _auth: Authed, schema: SObject, store: StoreDep) -> Response:
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
        **_summary(schema, version),
        "fields": [describe_field(f) for f in schema.fields.values()],
        "childRelationships": children,
        "recordTypeInfos": [],
        "supportedScopes": [{"label": "All", "name": "everything"}],
    }
    return json_response(body)
