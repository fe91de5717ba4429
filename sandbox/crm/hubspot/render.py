"""One HubSpot object as the API shows it: the properties asked for (or the object type's
defaults), their history and associations as of one moment, and its timestamps."""

from __future__ import annotations

from typing import Any

from sandbox.crm.hubspot.schema import DEFAULT_PROPERTIES, ENGAGEMENT_DEFAULTS, association_label
from sandbox.crm.hubspot.store import HsObject, HubSpotStore

__all__ = ["render", "wanted_properties", "written_properties"]


def wanted_properties(store: HubSpotStore, object_type: str, names: list[str] | None) -> list[str]:
    """The properties to show: those named that exist, or the object type's defaults."""
    if not names:
        return list(DEFAULT_PROPERTIES.get(object_type, ENGAGEMENT_DEFAULTS))
    defs = store.properties[object_type]
    return [n for n in dict.fromkeys(names) if n in defs]


def written_properties(values: dict[str, Any], *stamps: str) -> list[str]:
    """What a write answers with: the properties written, then the stamps it moved."""
    return [*dict.fromkeys([*values, *stamps, "hs_lastmodifieddate", "hs_object_id"])]


def render(
    store: HubSpotStore,
    object_type: str,
    obj: HsObject,
    properties: list[str],
    *,
    at_ms: int,
    history: list[str] | None = None,
    associations: list[str] | None = None,
) -> dict[str, Any]:
    """`at_ms` (epoch ms): the moment history and associations are read at."""
    values = obj.properties
    body: dict[str, Any] = {
        "id": obj.id,
        "properties": {
            name: (obj.id if name == "hs_object_id" else values.get(name)) for name in properties
        },
    }
    if history:
        body["propertiesWithHistory"] = {
            name: store.history_of(object_type, obj, name, at_ms) for name in history
        }
    body["createdAt"] = obj.created_at
    body["updatedAt"] = obj.updated_at
    body["archived"] = obj.archived
    if obj.archived and obj.archived_at:
        body["archivedAt"] = obj.archived_at
    if associations:
        linked: dict[str, Any] = {}
        for to_type in associations:
            found = store.associated(object_type, obj.id, to_type, at_ms)
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
