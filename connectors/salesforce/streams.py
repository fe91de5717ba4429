"""The Salesforce streams, declared: object, default fields, cursor and page size.

Field lists can be extended per connection (custom fields); they are validated against the
object's describe before a sync reads anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.core import StreamSpec

__all__ = ["SALESFORCE_STREAMS", "salesforce_streams"]

_SYSTEM = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")


def _spec(name: str, *fields: str, mode: str = "incremental") -> StreamSpec:
    return StreamSpec(
        name=name,
        object=name,
        cursor_field="SystemModstamp",
        primary_key="Id",
        fields=(*_SYSTEM, *fields),
        page_size=2000,
        mode="full_refresh" if mode == "full_refresh" else "incremental",
        required_fields=("Id", "SystemModstamp"),
    )


SALESFORCE_STREAMS: tuple[StreamSpec, ...] = (
    _spec("User", "Name", "Email", "IsActive", "UserRoleId", "ManagerId", "Department"),
    _spec("Account", "Name", "Industry", "Type", "AnnualRevenue", "NumberOfEmployees", "OwnerId"),
    _spec("Contact", "FirstName", "LastName", "Email", "Title", "AccountId", "OwnerId"),
    _spec("Lead", "FirstName", "LastName", "Email", "Company", "Status", "OwnerId", "IsConverted"),
    _spec(
        "Opportunity",
        "Name",
        "AccountId",
        "OwnerId",
        "StageName",
        "Amount",
        "CloseDate",
        "Probability",
        "ForecastCategoryName",
        "IsClosed",
        "IsWon",
        "Type",
        "LeadSource",
    ),
    _spec(
        "OpportunityHistory",
        "OpportunityId",
        "StageName",
        "Amount",
        "CloseDate",
        "Probability",
        "ForecastCategory",
        "CreatedById",
    ),
    _spec("OpportunityContactRole", "OpportunityId", "ContactId", "Role", "IsPrimary"),
    _spec(
        "OpportunityStage",
        "MasterLabel",
        "ApiName",
        "DefaultProbability",
        "ForecastCategoryName",
        "IsClosed",
        "IsWon",
        "IsActive",
        "SortOrder",
    ),
    _spec(
        "Task",
        "Subject",
        "TaskSubtype",
        "Status",
        "WhoId",
        "WhatId",
        "OwnerId",
        "ActivityDate",
        "CallType",
        "CallDurationInSeconds",
        "CallDisposition",
        "Description",
    ),
    _spec(
        "Event",
        "Subject",
        "StartDateTime",
        "EndDateTime",
        "WhoId",
        "WhatId",
        "OwnerId",
        "Description",
    ),
    _spec(
        "EmailMessage",
        "Subject",
        "Incoming",
        "FromAddress",
        "ToAddress",
        "MessageDate",
        "RelatedToId",
        "HasAttachment",
        "Status",
        "ActivityId",
        "TextBody",
    ),
)


def salesforce_streams(
    only: Sequence[str] | None = None, extra_fields: Mapping[str, Sequence[str]] | None = None
) -> list[StreamSpec]:
    """The streams to sync: all, or `only` these, each with any extra (custom) fields."""
    extra_fields = extra_fields or {}
    known = {spec.name: spec for spec in SALESFORCE_STREAMS}
    unknown = sorted(set(only or ()) - set(known)) + sorted(set(extra_fields) - set(known))
    if unknown:
        raise ValueError(
            f"unknown Salesforce stream(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    chosen = [known[name] for name in only] if only else list(SALESFORCE_STREAMS)
    return [
        spec.with_fields(tuple(dict.fromkeys((*spec.fields, *extra_fields.get(spec.name, ())))))
        for spec in chosen
    ]
