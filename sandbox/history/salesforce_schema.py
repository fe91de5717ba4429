"""The Salesforce objects the export holds: field names in column order, with describe types.

The CSV header of `salesforce/<Object>.csv` is `FIELDS[Object]`'s names in order (Id first);
`salesforce/describe.json` is `describe()`: per object, field -> {"type", "referenceTo"}.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIELDS", "OBJECTS", "describe", "header"]

Field = tuple[str, str, tuple[str, ...]]

_WHO = ("Contact", "Lead")
_WHAT = ("Opportunity", "Account")


def _f(name: str, kind: str, *refs: str) -> Field:
    return (name, kind, tuple(refs))


_AUDIT: tuple[Field, ...] = (
    _f("IsDeleted", "boolean"),
    _f("CreatedDate", "datetime"),
    _f("CreatedById", "reference", "User"),
    _f("LastModifiedDate", "datetime"),
    _f("LastModifiedById", "reference", "User"),
    _f("SystemModstamp", "datetime"),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "User": (
        _f("Id", "id"),
        _f("Username", "string"),
        _f("FirstName", "string"),
        _f("LastName", "string"),
        _f("Name", "string"),
        _f("Alias", "string"),
        _f("Email", "email"),
        _f("IsActive", "boolean"),
        _f("Title", "string"),
        _f("Department", "string"),
        _f("ManagerId", "reference", "User"),
        _f("UserType", "picklist"),
        _f("TimeZoneSidKey", "picklist"),
        *_AUDIT,
    ),
    "Account": (
        _f("Id", "id"),
        _f("Name", "string"),
        _f("Type", "picklist"),
        _f("Industry", "picklist"),
        _f("NumberOfEmployees", "int"),
        _f("BillingCity", "string"),
        _f("BillingCountry", "string"),
        _f("Website", "url"),
        _f("OwnerId", "reference", "User"),
        _f("Segment__c", "picklist"),
        *_AUDIT,
    ),
    "Contact": (
        _f("Id", "id"),
        _f("AccountId", "reference", "Account"),
        _f("FirstName", "string"),
        _f("LastName", "string"),
        _f("Name", "string"),
        _f("Email", "email"),
        _f("Title", "string"),
        _f("Phone", "phone"),
        _f("LeadSource", "picklist"),
        _f("OwnerId", "reference", "User"),
        *_AUDIT,
    ),
    "Lead": (
        _f("Id", "id"),
        _f("FirstName", "string"),
        _f("LastName", "string"),
        _f("Name", "string"),
        _f("Company", "string"),
        _f("Title", "string"),
        _f("Email", "email"),
        _f("Status", "picklist"),
        _f("LeadSource", "picklist"),
        _f("IsConverted", "boolean"),
        _f("ConvertedDate", "date"),
        _f("ConvertedAccountId", "reference", "Account"),
        _f("ConvertedContactId", "reference", "Contact"),
        _f("ConvertedOpportunityId", "reference", "Opportunity"),
        _f("OwnerId", "reference", "User"),
        *_AUDIT,
    ),
    "Opportunity": (
        _f("Id", "id"),
        _f("Name", "string"),
        _f("AccountId", "reference", "Account"),
        _f("OwnerId", "reference", "User"),
        _f("StageName", "picklist"),
        _f("Amount", "currency"),
        _f("CloseDate", "date"),
        _f("Probability", "percent"),
        _f("ExpectedRevenue", "currency"),
        _f("ForecastCategory", "picklist"),
        _f("ForecastCategoryName", "picklist"),
        _f("IsClosed", "boolean"),
        _f("IsWon", "boolean"),
        _f("Type", "picklist"),
        _f("LeadSource", "picklist"),
        _f("Segment__c", "picklist"),
        _f("LastStageChangeDate", "datetime"),
        *_AUDIT,
    ),
    "OpportunityStage": (
        _f("Id", "id"),
        _f("MasterLabel", "string"),
        _f("ApiName", "string"),
        _f("DefaultProbability", "percent"),
        _f("ForecastCategory", "picklist"),
        _f("ForecastCategoryName", "picklist"),
        _f("IsClosed", "boolean"),
        _f("IsWon", "boolean"),
        _f("IsActive", "boolean"),
        _f("SortOrder", "int"),
        _f("Description", "string"),
        *_AUDIT,
    ),
    "OpportunityHistory": (
        _f("Id", "id"),
        _f("OpportunityId", "reference", "Opportunity"),
        _f("StageName", "picklist"),
        _f("Amount", "currency"),
        _f("ExpectedRevenue", "currency"),
        _f("CloseDate", "date"),
        _f("Probability", "percent"),
        _f("ForecastCategory", "picklist"),
        *_AUDIT,
    ),
    "OpportunityContactRole": (
        _f("Id", "id"),
        _f("OpportunityId", "reference", "Opportunity"),
        _f("ContactId", "reference", "Contact"),
        _f("Role", "picklist"),
        _f("IsPrimary", "boolean"),
        *_AUDIT,
    ),
    "Task": (
        _f("Id", "id"),
        _f("WhoId", "reference", *_WHO),
        _f("WhatId", "reference", *_WHAT),
        _f("AccountId", "reference", "Account"),
        _f("OwnerId", "reference", "User"),
        _f("Subject", "string"),
        _f("ActivityDate", "date"),
        _f("Status", "picklist"),
        _f("Priority", "picklist"),
        _f("IsClosed", "boolean"),
        _f("Type", "picklist"),
        _f("TaskSubtype", "picklist"),
        _f("CallType", "picklist"),
        _f("CallDurationInSeconds", "int"),
        _f("CallDisposition", "string"),
        _f("CompletedDateTime", "datetime"),
        _f("Description", "textarea"),
        *_AUDIT,
    ),
    "Event": (
        _f("Id", "id"),
        _f("WhoId", "reference", *_WHO),
        _f("WhatId", "reference", *_WHAT),
        _f("AccountId", "reference", "Account"),
        _f("OwnerId", "reference", "User"),
        _f("Subject", "string"),
        _f("Location", "string"),
        _f("StartDateTime", "datetime"),
        _f("EndDateTime", "datetime"),
        _f("ActivityDateTime", "datetime"),
        _f("ActivityDate", "date"),
        _f("DurationInMinutes", "int"),
        _f("IsAllDayEvent", "boolean"),
        _f("Type", "picklist"),
        _f("ShowAs", "picklist"),
        _f("EventSubtype", "picklist"),
        _f("Meeting_Outcome__c", "picklist"),
        _f("Description", "textarea"),
        *_AUDIT,
    ),
    "EmailMessage": (
        _f("Id", "id"),
        _f("ActivityId", "reference", "Task"),
        _f("RelatedToId", "reference", *_WHAT),
        _f("Subject", "string"),
        _f("TextBody", "textarea"),
        _f("FromName", "string"),
        _f("FromAddress", "email"),
        _f("ToAddress", "string"),
        _f("Incoming", "boolean"),
        _f("HasAttachment", "boolean"),
        _f("Status", "picklist"),
        _f("MessageDate", "datetime"),
        _f("IsBounced", "boolean"),
        *_AUDIT,
    ),
}

OBJECTS: tuple[str, ...] = tuple(FIELDS)
"""Every object, in the order the export writes them."""


def header(name: str) -> tuple[str, ...]:
    return tuple(field[0] for field in FIELDS[name])


def describe() -> dict[str, dict[str, dict[str, Any]]]:
    """salesforce/describe.json: per object, field -> {"type", "referenceTo"}."""
    return {
        name: {
            field: {"type": kind, "referenceTo": list(refs) if refs else []}
            for field, kind, refs in fields
        }
        for name, fields in FIELDS.items()
    }
