"""Associations in the one shape the raw layer keeps: the v3 list's, sorted.

    {"deals": {"results": [{"id": "123", "type": "email_to_deal"}]}, "contacts": {...}}

A first sync reads them inline from the list endpoint (`associations=deals,...`); later syncs
read them with the v4 batch endpoint for the records a search returned. Both answers are
brought to this shape, with each group's results sorted by (id, type), so the same links give
the same payload (and the same hash) whichever endpoint supplied them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SINGULAR", "canonical_associations", "inverse_type_id", "type_name", "v4_links"]

SINGULAR = {
    "contacts": "contact",
    "companies": "company",
    "deals": "deal",
    "emails": "email",
    "meetings": "meeting",
    "calls": "call",
    "notes": "note",
    "tasks": "task",
}

# HubSpot-defined association type ids, as the v3 list names them (HubSpot's public table).
_DEFINED: dict[int, str] = {
    1: "contact_to_company",
    2: "company_to_contact",
    3: "deal_to_contact",
    4: "contact_to_deal",
    5: "deal_to_company",
    6: "company_to_deal",
    279: "contact_to_company_unlabeled",
    280: "company_to_contact_unlabeled",
    341: "deal_to_company_unlabeled",
    342: "company_to_deal_unlabeled",
    181: "company_to_call",
    182: "call_to_company",
    185: "company_to_email",
    186: "email_to_company",
    187: "company_to_meeting",
    188: "meeting_to_company",
    189: "company_to_note",
    190: "note_to_company",
    191: "company_to_task",
    192: "task_to_company",
    193: "contact_to_call",
    194: "call_to_contact",
    197: "contact_to_email",
    198: "email_to_contact",
    199: "contact_to_meeting",
    200: "meeting_to_contact",
    201: "contact_to_note",
    202: "note_to_contact",
    203: "contact_to_task",
    204: "task_to_contact",
    205: "deal_to_call",
    206: "call_to_deal",
    209: "deal_to_email",
    210: "email_to_deal",
    211: "deal_to_meeting",
    212: "meeting_to_deal",
    213: "deal_to_note",
    214: "note_to_deal",
    215: "deal_to_task",
    216: "task_to_deal",
}


def type_name(type_id: Any, label: Any, from_type: str, to_type: str) -> str:
    """The v3 name of a v4 association type: HubSpot's own name, else the label."""
    try:
        known = _DEFINED.get(int(type_id))
    except (TypeError, ValueError):
        known = None
    if known:
        return known
    if isinstance(label, str) and label:
        return label
    return f"{SINGULAR.get(from_type, from_type)}_to_{SINGULAR.get(to_type, to_type)}"


def _sort_key(item: Mapping[str, Any]) -> tuple[int, str, str]:
    ident = str(item.get("id", ""))
    return (int(ident) if ident.isdigit() else 0, ident, str(item.get("type", "")))


def canonical_associations(raw: Any) -> dict[str, Any] | None:
    """The v3 `associations` object with each group's results sorted; None when empty."""
    if not isinstance(raw, Mapping):
        return None
    out: dict[str, Any] = {}
    for to_type, group in raw.items():
        results = group.get("results") if isinstance(group, Mapping) else None
        if not isinstance(results, list) or not results:
            continue
        items = [
            {"id": str(item.get("id")), "type": str(item.get("type", ""))}
            for item in results
            if isinstance(item, Mapping) and item.get("id") is not None
        ]
        if items:
            out[str(to_type)] = {"results": sorted(items, key=_sort_key)}
    return out or None


def v4_links(
    from_type: str, to_type: str, results: Iterable[Any]
) -> dict[str, list[dict[str, str]]]:
    """From a v4 batch read answer's `results`: from-id -> v3 association items."""
    links: dict[str, list[dict[str, str]]] = {}
    for result in results:
        if not isinstance(result, Mapping):
            continue
        source = result.get("from")
        from_id = source.get("id") if isinstance(source, Mapping) else None
        targets = result.get("to")
        if from_id is None or not isinstance(targets, list):
            continue
        items = links.setdefault(str(from_id), [])
        for target in targets:
            if not isinstance(target, Mapping) or target.get("toObjectId") is None:
                continue
            to_id = str(target["toObjectId"])
            types = target.get("associationTypes") or [{}]
            for kind in types:
                kind = kind if isinstance(kind, Mapping) else {}
                name = type_name(kind.get("typeId"), kind.get("label"), from_type, to_type)
                items.append({"id": to_id, "type": name})
    return links


_BY_NAME = {name: type_id for type_id, name in _DEFINED.items()}


def inverse_type_id(type_id: int) -> int:
    """The id of the same association seen from its other end (HubSpot-defined types)."""
    name = _DEFINED.get(type_id)
    if name is None:
        return type_id
    suffix = "_unlabeled" if name.endswith("_unlabeled") else ""
    first, _, second = name.removesuffix(suffix).partition("_to_")
    return _BY_NAME.get(f"{second}_to_{first}{suffix}", type_id)
