"""Salesforce object schemas: fields, types, relationships, and the describe the API serves.

Types come from the export's describe.json when given, else from a small catalog of the standard
fields of the objects the product reads, else they are inferred from the values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.crm.ids import KEY_PREFIXES

__all__ = [
    "FIELD_TYPES",
    "NAME_OBJECT_FIELDS",
    "FieldType",
    "ObjectSchema",
    "SfField",
    "custom_field_type",
    "infer_type",
    "standard_schema",
]

FieldType = Literal[
    "id",
    "string",
    "datetime",
    "date",
    "boolean",
    "double",
    "currency",
    "percent",
    "reference",
    "picklist",
    "multipicklist",
    "textarea",
    "email",
    "phone",
    "url",
    "int",
]
FIELD_TYPES: frozenset[str] = frozenset(FieldType.__args__)  # type: ignore[attr-defined]
NUMERIC_TYPES = frozenset({"double", "currency", "percent", "int"})
TEXT_TYPES = frozenset(
    {"id", "string", "reference", "picklist", "multipicklist", "textarea", "email", "phone", "url"}
)

# Fields a polymorphic relationship (Who, What, Owner of an activity) can reach: the Name object.
NAME_OBJECT_FIELDS = frozenset(
    {"Id", "Name", "Type", "Alias", "Email", "FirstName", "LastName", "Title", "Phone"}
    | {"IsActive", "Username", "UserRoleId", "NameOrAlias", "ProfileId", "RecordTypeId"}
)

_SYSTEM = {
    "Id": ("id", ()),
    "IsDeleted": ("boolean", ()),
    "CreatedDate": ("datetime", ()),
    "CreatedById": ("reference", ("User",)),
    "LastModifiedDate": ("datetime", ()),
    "LastModifiedById": ("reference", ("User",)),
    "SystemModstamp": ("datetime", ()),
}
_U = ("User",)
_CATALOG: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "User": {
        "Username": ("string", ()),
        "Name": ("string", ()),
        "FirstName": ("string", ()),
        "LastName": ("string", ()),
        "Email": ("email", ()),
        "Alias": ("string", ()),
        "Title": ("string", ()),
        "Department": ("string", ()),
        "Division": ("string", ()),
        "IsActive": ("boolean", ()),
        "ManagerId": ("reference", _U),
        "UserRoleId": ("reference", ("UserRole",)),
        "TimeZoneSidKey": ("picklist", ()),
    },
    "Account": {
        "Name": ("string", ()),
        "Type": ("picklist", ()),
        "Industry": ("picklist", ()),
        "AnnualRevenue": ("currency", ()),
        "NumberOfEmployees": ("int", ()),
        "OwnerId": ("reference", _U),
        "ParentId": ("reference", ("Account",)),
        "Website": ("url", ()),
        "Phone": ("phone", ()),
        "BillingCity": ("string", ()),
        "BillingState": ("string", ()),
        "BillingCountry": ("string", ()),
        "Description": ("textarea", ()),
        "LastActivityDate": ("date", ()),
    },
    "Contact": {
        "AccountId": ("reference", ("Account",)),
        "OwnerId": ("reference", _U),
        "Name": ("string", ()),
        "FirstName": ("string", ()),
        "LastName": ("string", ()),
        "Email": ("email", ()),
        "Title": ("string", ()),
        "Phone": ("phone", ()),
        "LeadSource": ("picklist", ()),
        "MailingCountry": ("string", ()),
        "LastActivityDate": ("date", ()),
    },
    "Lead": {
        "OwnerId": ("reference", _U),
        "Name": ("string", ()),
        "FirstName": ("string", ()),
        "LastName": ("string", ()),
        "Company": ("string", ()),
        "Email": ("email", ()),
        "Title": ("string", ()),
        "Phone": ("phone", ()),
        "Status": ("picklist", ()),
        "LeadSource": ("picklist", ()),
        "Industry": ("picklist", ()),
        "IsConverted": ("boolean", ()),
        "ConvertedDate": ("date", ()),
        "ConvertedAccountId": ("reference", ("Account",)),
        "ConvertedContactId": ("reference", ("Contact",)),
        "ConvertedOpportunityId": ("reference", ("Opportunity",)),
    },
    "Opportunity": {
        "Name": ("string", ()),
        "AccountId": ("reference", ("Account",)),
        "OwnerId": ("reference", _U),
        "ContactId": ("reference", ("Contact",)),
        "StageName": ("picklist", ()),
        "Amount": ("currency", ()),
        "ExpectedRevenue": ("currency", ()),
        "CloseDate": ("date", ()),
        "Probability": ("percent", ()),
        "ForecastCategory": ("picklist", ()),
        "ForecastCategoryName": ("picklist", ()),
        "IsClosed": ("boolean", ()),
        "IsWon": ("boolean", ()),
        "Type": ("picklist", ()),
        "LeadSource": ("picklist", ()),
        "NextStep": ("string", ()),
        "Description": ("textarea", ()),
        "FiscalYear": ("int", ()),
        "FiscalQuarter": ("int", ()),
        "HasOpportunityLineItem": ("boolean", ()),
        "LastActivityDate": ("date", ()),
        "LastStageChangeDate": ("datetime", ()),
    },
    "OpportunityStage": {
        "MasterLabel": ("string", ()),
        "ApiName": ("string", ()),
        "IsActive": ("boolean", ()),
        "SortOrder": ("int", ()),
        "IsClosed": ("boolean", ()),
        "IsWon": ("boolean", ()),
        "ForecastCategory": ("picklist", ()),
        "ForecastCategoryName": ("picklist", ()),
        "DefaultProbability": ("percent", ()),
        "Description": ("string", ()),
    },
    "OpportunityHistory": {
        "OpportunityId": ("reference", ("Opportunity",)),
        "StageName": ("picklist", ()),
        "Amount": ("currency", ()),
        "ExpectedRevenue": ("currency", ()),
        "CloseDate": ("date", ()),
        "Probability": ("percent", ()),
        "ForecastCategory": ("picklist", ()),
        "PrevAmount": ("currency", ()),
        "PrevCloseDate": ("date", ()),
    },
    "OpportunityContactRole": {
        "OpportunityId": ("reference", ("Opportunity",)),
        "ContactId": ("reference", ("Contact",)),
        "Role": ("picklist", ()),
        "IsPrimary": ("boolean", ()),
    },
    "Task": {
        "Subject": ("string", ()),
        "Status": ("picklist", ()),
        "Priority": ("picklist", ()),
        "TaskSubtype": ("picklist", ()),
        "Type": ("picklist", ()),
        "WhoId": ("reference", ("Contact", "Lead")),
        "WhatId": ("reference", ("Account", "Opportunity")),
        "AccountId": ("reference", ("Account",)),
        "OwnerId": ("reference", _U),
        "ActivityDate": ("date", ()),
        "CallType": ("picklist", ()),
        "CallDurationInSeconds": ("int", ()),
        "CallDisposition": ("string", ()),
        "Description": ("textarea", ()),
        "IsClosed": ("boolean", ()),
        "CompletedDateTime": ("datetime", ()),
    },
    "Event": {
        "Subject": ("string", ()),
        "StartDateTime": ("datetime", ()),
        "EndDateTime": ("datetime", ()),
        "ActivityDateTime": ("datetime", ()),
        "ActivityDate": ("date", ()),
        "DurationInMinutes": ("int", ()),
        "IsAllDayEvent": ("boolean", ()),
        "WhoId": ("reference", ("Contact", "Lead")),
        "WhatId": ("reference", ("Account", "Opportunity")),
        "AccountId": ("reference", ("Account",)),
        "OwnerId": ("reference", _U),
        "Location": ("string", ()),
        "Type": ("picklist", ()),
        "EventSubtype": ("picklist", ()),
        "Description": ("textarea", ()),
    },
    "EmailMessage": {
        "Subject": ("string", ()),
        "FromAddress": ("email", ()),
        "FromName": ("string", ()),
        "ToAddress": ("string", ()),
        "CcAddress": ("string", ()),
        "Incoming": ("boolean", ()),
        "MessageDate": ("datetime", ()),
        "RelatedToId": ("reference", ("Account", "Opportunity")),
        "ActivityId": ("reference", ("Task",)),
        "HasAttachment": ("boolean", ()),
        "Status": ("picklist", ()),
        "TextBody": ("textarea", ()),
        "ThreadIdentifier": ("string", ()),
        "MessageIdentifier": ("string", ()),
    },
}
# Fields the platform computes: readable, never writable through the API.
_READ_ONLY: dict[str, frozenset[str]] = {
    "User": frozenset({"Name"}),
    "Contact": frozenset({"Name"}),
    "Lead": frozenset({"Name", "IsConverted", "ConvertedDate"}),
    "Account": frozenset({"LastActivityDate"}),
    "Opportunity": frozenset(
        {
            "IsClosed",
            "IsWon",
            "ExpectedRevenue",
            "ForecastCategory",
            "FiscalYear",
            "FiscalQuarter",
            "HasOpportunityLineItem",
            "LastActivityDate",
            "LastStageChangeDate",
        }
    ),
    "Task": frozenset({"IsClosed", "CompletedDateTime"}),
}
_READ_ONLY_OBJECTS = frozenset({"OpportunityHistory", "OpportunityStage"})
_SYSTEM_READ_ONLY = frozenset(_SYSTEM)

_CUSTOM_TYPES: dict[str, FieldType] = {
    "text": "string",
    "number": "double",
    "percent": "percent",
    "currency": "currency",
    "date": "date",
    "datetime": "datetime",
    "checkbox": "boolean",
    "textarea": "textarea",
    "longtextarea": "textarea",
    "picklist": "picklist",
    "multiselectpicklist": "multipicklist",
    "email": "email",
    "phone": "phone",
    "url": "url",
}

_SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_INT = re.compile(r"^-?\d+$")
_ID = re.compile(r"^[0-9A-Za-z]{18}$")


@dataclass
class SfField:
    name: str
    type: FieldType
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    custom: bool = False
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    picklist_values: list[str] = field(default_factory=list)

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1


def relationship_name_for(name: str) -> str | None:
    if name.endswith("__c"):
        return name[:-3] + "__r"
    if name.endswith("Id") and len(name) > 2:
        return name[:-2]
    return None


def _label(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base.replace("_", " "))
    return words.strip() or name


def make_field(
    object_name: str,
    name: str,
    type_: FieldType,
    reference_to: Iterable[str] = (),
    *,
    custom: bool | None = None,
    label: str | None = None,
    length: int | None = None,
    relationship_name: str | None = None,
) -> SfField:
    refs = tuple(reference_to)
    is_custom = name.endswith("__c") if custom is None else custom
    writable = (
        object_name not in _READ_ONLY_OBJECTS
        and name not in _SYSTEM_READ_ONLY
        and name not in _READ_ONLY.get(object_name, frozenset())
    )
    default_length = {
        "id": 18,
        "string": 255,
        "textarea": 32000,
        "email": 80,
        "phone": 40,
        "url": 255,
    }
    return SfField(
        name=name,
        type=type_,
        reference_to=refs,
        relationship_name=(relationship_name or relationship_name_for(name)) if refs else None,
        custom=is_custom,
        updateable=writable,
        createable=writable,
        nillable=name not in ("Id", "IsDeleted", "CreatedDate", "SystemModstamp"),
        label=label or _label(name),
        length=length if length is not None else default_length.get(type_, 18 if refs else 0),
        precision=18 if type_ in ("double", "currency", "percent") else 0,
        scale=2 if type_ in ("double", "currency", "percent") else 0,
    )


@dataclass
class ObjectSchema:
    name: str
    key_prefix: str
    fields: dict[str, SfField] = field(default_factory=dict)
    custom: bool = False
    _lower: dict[str, SfField] = field(default_factory=dict, repr=False)
    _relationships: dict[str, SfField] = field(default_factory=dict, repr=False)

    def add(self, sf_field: SfField) -> None:
        self.fields[sf_field.name] = sf_field
        self._lower[sf_field.name.lower()] = sf_field
        if sf_field.relationship_name:
            self._relationships[sf_field.relationship_name.lower()] = sf_field

    def field(self, name: str) -> SfField | None:
        return self._lower.get(name.lower())

    def relationship(self, name: str) -> SfField | None:
        return self._relationships.get(name.lower())


def standard_schema(object_name: str) -> ObjectSchema:
    schema = ObjectSchema(object_name, KEY_PREFIXES.get(object_name, "a0X"))
    for name, (type_, refs) in {**_SYSTEM, **_CATALOG.get(object_name, {})}.items():
        schema.add(make_field(object_name, name, type_, refs))  # type: ignore[arg-type]
    return schema


def custom_field_type(metadata_type: str) -> FieldType | None:
    return _CUSTOM_TYPES.get(metadata_type.lower())


def infer_type(name: str, values: Iterable[str]) -> FieldType:
    """A field's type from its CSV cells (empty cells are nulls and say nothing)."""
    sample = [v for v in values if v != ""][:200]
    if name == "Id":
        return "id"
    if not sample:
        return "string"
    if all(v in ("true", "false") for v in sample):
        return "boolean"
    if all(_SF_DATETIME.match(v) for v in sample):
        return "datetime"
    if all(_DATE.match(v) for v in sample):
        return "date"
    if name.endswith("Id") and all(_ID.match(v) for v in sample):
        return "reference"
    if all(_INT.match(v) for v in sample):
        return "int"
    if all(_NUMBER.match(v) for v in sample):
        return "double"
    return "string"


def describe_field(sf_field: SfField) -> dict[str, Any]:
    soap = {
        "id": "tns:ID",
        "reference": "tns:ID",
        "boolean": "xsd:boolean",
        "datetime": "xsd:dateTime",
        "date": "xsd:date",
        "double": "xsd:double",
        "currency": "xsd:double",
        "percent": "xsd:double",
        "int": "xsd:int",
    }.get(sf_field.type, "xsd:string")
    return {
        "name": sf_field.name,
        "label": sf_field.label,
        "type": sf_field.type,
        "soapType": soap,
        "length": sf_field.length,
        "precision": sf_field.precision,
        "scale": sf_field.scale,
        "digits": 9 if sf_field.type == "int" else 0,
        "byteLength": sf_field.length * 3,
        "custom": sf_field.custom,
        "nillable": sf_field.nillable,
        "createable": sf_field.createable,
        "updateable": sf_field.updateable,
        "filterable": sf_field.type != "textarea",
        "sortable": sf_field.type != "textarea",
        "groupable": sf_field.type not in ("textarea", "double", "currency", "percent"),
        "idLookup": sf_field.type == "id",
        "calculated": False,
        "defaultedOnCreate": sf_field.name in ("Id", "CreatedDate", "SystemModstamp"),
        "referenceTo": list(sf_field.reference_to),
        "relationshipName": sf_field.relationship_name,
        "polymorphicForeignKey": sf_field.polymorphic,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in sf_field.picklist_values
        ],
        "restrictedPicklist": False,
        "externalId": False,
        "unique": False,
        "inlineHelpText": None,
    }
