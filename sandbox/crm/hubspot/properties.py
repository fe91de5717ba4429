"""Properties and property groups: list, read, create.

    GET  /crm/v3/properties/{type}                   POST creates a property
    GET  /crm/v3/properties/{type}/groups            POST creates a group
    GET  /crm/v3/properties/{type}/groups/{name}
    GET  /crm/v3/properties/{type}/{name}

The group routes stand before `{name}`, so that 'groups' is never read as a property name.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sandbox.crm.deps import SandboxDep
from sandbox.crm.errors import HubSpotError, json_response
from sandbox.crm.hubspot.deps import ObjectKind, StoreDep
from sandbox.crm.hubspot.schema import PropertyDef
from sandbox.crm.hubspot.wire import invalid, not_found, read_json
from sandbox.crm.timefmt import hs_format

__all__ = ["router"]

router = APIRouter(prefix="/crm/v3/properties/{object_type}")

_PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
_REQUIRED = ("name", "label", "type", "fieldType", "groupName")


def _exists(message: str) -> HubSpotError:
    return HubSpotError(409, "OBJECT_ALREADY_EXISTS", message)


@router.get("", name="properties_list")
async def properties_list(kind: ObjectKind, store: StoreDep) -> Response:
    return json_response({"results": [p.as_json() for p in store.properties[kind].values()]})


@router.get("/groups", name="property_groups_list")
async def groups_list(kind: ObjectKind, store: StoreDep) -> Response:
    return json_response({"results": list(store.groups[kind].values())})


@router.post("/groups", name="property_groups_create")
async def groups_create(request: Request, kind: ObjectKind, store: StoreDep) -> Response:
    body = await read_json(request)
    name, label = body.get("name"), body.get("label")
    order = body.get("displayOrder", -1)
    if not isinstance(name, str) or not name or not isinstance(label, str):
        raise invalid("name and label are required")
    if not isinstance(order, int):
        raise invalid(f"Invalid displayOrder: {order}")
    with store.lock:
        if name in store.groups[kind]:
            raise _exists(f"A property group named '{name}' already exists.")
        group = {"name": name, "label": label, "displayOrder": order, "archived": False}
        store.groups[kind][name] = group
    return json_response(group, 201)


@router.get("/groups/{group_name}", name="property_groups_read")
async def groups_read(kind: ObjectKind, group_name: str, store: StoreDep) -> Response:
    group = store.groups[kind].get(group_name)
    if group is None:
        raise not_found(f"Unable to find property group {group_name}")
    return json_response(group)


@router.get("/{property_name}", name="properties_read")
async def properties_read(kind: ObjectKind, property_name: str, store: StoreDep) -> Response:
    prop = store.properties[kind].get(property_name)
    if prop is None:
        raise not_found(f"Unable to find property {property_name}")
    return json_response(prop.as_json())


@router.post("", name="properties_create")
async def properties_create(
    request: Request, kind: ObjectKind, sandbox: SandboxDep, store: StoreDep
) -> Response:
    body = await read_json(request)
    missing = [k for k in _REQUIRED if not body.get(k)]
    if missing:
        raise invalid(f"Missing required fields: {', '.join(missing)}")
    if body["type"] not in _PROPERTY_TYPES:
        raise invalid(f"Invalid property type: {body['type']}")
    options = body.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise invalid("options must be a list of {label, value} objects")
    name = str(body["name"])
    with store.lock:
        if name in store.properties[kind]:
            raise _exists(f"Property named '{name}' already exists.")
        if body["groupName"] not in store.groups[kind]:
            raise invalid(f"Property group {body['groupName']} does not exist")
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
