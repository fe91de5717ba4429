"""HubSpot object types, their property definitions and association types, as the API names them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_PROPERTIES",
    "OBJECT_TYPES",
    "PropertyDef",
    "PropertyType",
    "association_label",
    "catalog_properties",
    "infer_property",
    "inverse_type_id",
    "resolve_object_type",
    "singular",
    "with_unlabeled",
]

PropertyType = Literal["string", "number", "date", "datetime", "enumeration", "bool"]

OBJECT_TYPES: dict[str, tuple[str, str]] = {
    # canonical: (singular, objectTypeId)
    "contacts": ("contact", "0-1"),
    "companies": ("company", "0-2"),
    "deals": ("deal", "0-3"),
    "tasks": ("task", "0-27"),
    "notes": ("note", "0-46"),
    "meetings": ("meeting", "0-47"),
    "calls": ("call", "0-48"),
    "emails": ("email", "0-49"),
    # Standard types the export does not carry: served (empty), as a portal without them is.
    "tickets": ("ticket", "0-5"),
    "products": ("product", "0-7"),
    "line_items": ("line_item", "0-8"),
    "quotes": ("quote", "0-14"),
    "communications": ("communication", "0-18"),
    "feedback_submissions": ("feedback_submission", "0-19"),
    "invoices": ("invoice", "0-53"),
    "marketing_events": ("marketing_event", "0-54"),
    "goal_targets": ("goal_target", "0-74"),
    "postal_mail": ("postal_mail", "0-116"),
    "leads": ("lead", "0-136"),
}
_ALIASES: dict[str, str] = {}
for _name, (_one, _type_id) in OBJECT_TYPES.items():
    _ALIASES[_name] = _name
    _ALIASES[_one] = _name
    _ALIASES[_type_id] = _name


def resolve_object_type(name: str) -> str | None:
    return _ALIASES.get(name.lower())


def singular(object_type: str) -> str:
    return OBJECT_TYPES[object_type][0]


DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")


@dataclass
class PropertyDef:
    name: str
    type: PropertyType
    field_type: str
    label: str = ""
    group_name: str = ""
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    hubspot_defined: bool = True
    read_only: bool = False
    calculated: bool = False
    created_at: str | None = None
    updated_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": -1,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.name == "hs_object_id",
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": False,
            "archived": False,
        }
        if self.created_at:
            body["createdAt"] = self.created_at
        if self.updated_at:
            body["updatedAt"] = self.updated_at
        return body


_FIELD_TYPES: dict[str, str] = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}


def _options(values: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {"label": v.replace("_", " ").title(), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    ]


def _p(
    name: str, type_: PropertyType, *, read_only: bool = False, options: Iterable[str] = ()
) -> PropertyDef:
    return PropertyDef(
        name=name,
        type=type_,
        field_type=_FIELD_TYPES[type_],
        label=name.replace("hs_", "").replace("_", " ").capitalize(),
        read_only=read_only,
        calculated=read_only and name != "hs_object_id",
        options=_options(options),
    )


_COMMON = [
    _p("hs_object_id", "number", read_only=True),
    _p("hs_createdate", "datetime", read_only=True),
    _p("hs_lastmodifieddate", "datetime", read_only=True),
    _p("createdate", "datetime"),
    _p("hubspot_owner_id", "enumeration"),
]
_ENGAGEMENT = [_p("hs_timestamp", "datetime")]
_CATALOG: dict[str, list[PropertyDef]] = {
    "contacts": [
        _p("email", "string"),
        _p("firstname", "string"),
        _p("lastname", "string"),
        _p("jobtitle", "string"),
        _p("phone", "string"),
        _p("company", "string"),
        _p("lastmodifieddate", "datetime", read_only=True),
        _p("associatedcompanyid", "number"),
        _p(
            "lifecyclestage",
            "enumeration",
            options=(
                "subscriber",
                "lead",
                "marketingqualifiedlead",
                "salesqualifiedlead",
                "opportunity",
                "customer",
                "evangelist",
                "other",
            ),
        ),
    ],
    "companies": [
        _p("name", "string"),
        _p("domain", "string"),
        _p("industry", "string"),
        _p("city", "string"),
        _p("country", "string"),
        _p("numberofemployees", "number"),
        _p("annualrevenue", "number"),
    ],
    "deals": [
        _p("dealname", "string"),
        _p("amount", "number"),
        _p("dealstage", "enumeration"),
        _p("pipeline", "enumeration"),
        _p("closedate", "datetime"),
        _p("dealtype", "enumeration", options=("newbusiness", "existingbusiness")),
        _p("hs_is_closed", "bool", read_only=True),
        _p("hs_is_closed_won", "bool", read_only=True),
        _p("hs_deal_stage_probability", "number", read_only=True),
        _p("hs_forecast_category", "enumeration"),
        _p("hs_forecast_probability", "number"),
    ],
    "emails": [
        *_ENGAGEMENT,
        _p(
            "hs_email_direction",
            "enumeration",
            options=("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
        ),
        _p(
            "hs_email_status",
            "enumeration",
            options=("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
        ),
        _p("hs_email_subject", "string"),
        _p("hs_email_text", "string"),
        _p("hs_email_from_email", "string"),
        _p("hs_email_to_email", "string"),
    ],
    "meetings": [
        *_ENGAGEMENT,
        _p("hs_meeting_title", "string"),
        _p("hs_meeting_body", "string"),
        _p("hs_meeting_start_time", "datetime"),
        _p("hs_meeting_end_time", "datetime"),
        _p("hs_meeting_outcome", "enumeration"),
    ],
    "calls": [
        *_ENGAGEMENT,
        _p("hs_call_title", "string"),
        _p("hs_call_body", "string"),
        _p("hs_call_direction", "enumeration", options=("INBOUND", "OUTBOUND")),
        _p("hs_call_status", "enumeration"),
        _p("hs_call_duration", "number"),
        _p("hs_call_disposition", "string"),
    ],
    "notes": [*_ENGAGEMENT, _p("hs_note_body", "string")],
    "tasks": [
        *_ENGAGEMENT,
        _p("hs_task_subject", "string"),
        _p("hs_task_body", "string"),
        _p(
            "hs_task_status",
            "enumeration",
            options=("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED"),
        ),
        _p("hs_task_type", "enumeration"),
        _p("hs_task_priority", "enumeration"),
    ],
}
_GROUPS = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
}


def _group(object_type: str) -> str:
    if object_type in _GROUPS or object_type in _CATALOG:
        return _GROUPS.get(object_type, "engagement")
    return f"{singular(object_type)}information"


def catalog_properties(object_type: str) -> list[PropertyDef]:
    group = _group(object_type)
    out = []
    for template in _COMMON + _CATALOG.get(object_type, []):
        prop = PropertyDef(**{**template.__dict__, "options": list(template.options)})
        prop.group_name = group
        out.append(prop)
    return out


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUM = re.compile(r"^-?\d+(\.\d+)?$")


def infer_property(object_type: str, name: str, values: Iterable[str]) -> PropertyDef:
    sample = [v for v in values if v][:200]
    type_: PropertyType = "string"
    if sample and all(v in ("true", "false") for v in sample):
        type_ = "bool"
    elif sample and all(_ISO.match(v) for v in sample):
        type_ = "datetime"
    elif sample and all(_DAY.match(v) for v in sample):
        type_ = "date"
    elif sample and all(_NUM.match(v) for v in sample):
        type_ = "number"
    prop = _p(name, type_)
    prop.group_name = _group(object_type)
    prop.hubspot_defined = name.startswith("hs_")
    return prop


# HubSpot-defined association type ids and their inverses.
_PAIRS: list[tuple[int, str, int, str]] = [
    (1, "contact_to_company", 2, "company_to_contact"),
    (279, "contact_to_company_unlabeled", 280, "company_to_contact_unlabeled"),
    (3, "deal_to_contact", 4, "contact_to_deal"),
    (5, "deal_to_company", 6, "company_to_deal"),
    (341, "deal_to_company_unlabeled", 342, "company_to_deal_unlabeled"),
    (185, "company_to_email", 186, "email_to_company"),
    (197, "contact_to_email", 198, "email_to_contact"),
    (209, "deal_to_email", 210, "email_to_deal"),
    (187, "company_to_meeting", 188, "meeting_to_company"),
    (199, "contact_to_meeting", 200, "meeting_to_contact"),
    (211, "deal_to_meeting", 212, "meeting_to_deal"),
    (181, "company_to_call", 182, "call_to_company"),
    (193, "contact_to_call", 194, "call_to_contact"),
    (205, "deal_to_call", 206, "call_to_deal"),
    (189, "company_to_note", 190, "note_to_company"),
    (201, "contact_to_note", 202, "note_to_contact"),
    (213, "deal_to_note", 214, "note_to_deal"),
    (191, "company_to_task", 192, "task_to_company"),
    (203, "contact_to_task", 204, "task_to_contact"),
    (215, "deal_to_task", 216, "task_to_deal"),
]
_INVERSE: dict[int, int] = {}
_LABELS: dict[int, str] = {}
for _a, _a_label, _b, _b_label in _PAIRS:
    _INVERSE[_a], _INVERSE[_b] = _b, _a
    _LABELS[_a], _LABELS[_b] = _a_label, _b_label
PRIMARY_TYPE_IDS = frozenset({1, 5})
# A primary association always comes with the unlabeled one beside it (both directions).
_UNLABELED_BESIDE: dict[int, int] = {1: 279, 2: 280, 5: 341, 6: 342}


def with_unlabeled(type_id: int) -> tuple[int, ...]:
    """The association types one link carries: a primary type brings its unlabeled twin."""
    twin = _UNLABELED_BESIDE.get(type_id)
    return (type_id,) if twin is None else (type_id, twin)


def inverse_type_id(type_id: int) -> int:
    return _INVERSE.get(type_id, type_id)


def association_label(type_id: int, from_type: str, to_type: str) -> str:
    return _LABELS.get(type_id, f"{singular(from_type)}_to_{singular(to_type)}")
