"""Finding an object by id (or by another unique property), and checking values before a write."""

from __future__ import annotations

from typing import Any

import orjson

from sandbox.crm.hubspot.store import HsObject, HubSpotStore
from sandbox.crm.hubspot.wire import invalid

__all__ = ["check_properties", "find"]


def find(
    store: HubSpotStore, kind: str, object_id: str, id_property: str | None, archived: bool
) -> HsObject | None:
    """The object whose `id_property` (default: its id) is `object_id`, archived or not."""
    if id_property and id_property != "hs_object_id":
        if id_property not in store.properties[kind]:
            raise invalid(f"Unable to find property {id_property} to use as the idProperty")
        for candidate in store.all_objects(kind):
            if (
                candidate.properties.get(id_property) == object_id
                and candidate.archived == archived
            ):
                return candidate
        return None
    found = store.get(kind, object_id)
    return found if found is not None and found.archived == archived else None


def check_properties(
    store: HubSpotStore, portal_id: int, kind: str, values: dict[str, Any]
) -> None:
    """Refuse the write, as HubSpot does, when a value does not fit its property."""
    problems = store.check_values(kind, values)
    if problems:
        details = [
            {
                "isValid": False,
                "message": p.message,
                "error": p.error,
                "name": p.name,
                "localizedErrorMessage": p.message,
                "portalId": portal_id,
            }
            for p in problems
        ]
        message = "Property values were not valid: " + orjson.dumps(details).decode()
        errors = [
            {"message": p.message, "code": p.error, "context": {"propertyName": [p.name]}}
            for p in problems
        ]
        raise invalid(message, errors=errors)
