"""What the engine knows about each CRM's streams: fields, times, links and whose side they are.

The catalog is the built-in description of the standard Salesforce objects and HubSpot object
types that connectors store. Field names come from `crm`, the list the connectors read from, so
a rule can name every field a sync brings in. Validation checks field names against it (or,
better, against the connection's own describe / properties data when the app passes it), the
guard uses each stream's *sides* to refuse milestones that only seller-side records could
satisfy, and the engine reads default times and links from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from crm.hubspot import HUBSPOT_PROPERTIES
from crm.salesforce import SALESFORCE_OBJECTS

__all__ = [
    "HUBSPOT",
    "SALESFORCE",
    "SOURCES",
    "STREAMS",
    "Facet",
    "Role",
    "Source",
    "StreamInfo",
    "deep_link",
    "stream_info",
    "streams_of",
]

Source = Literal["salesforce", "hubspot"]
SALESFORCE: Source = "salesforce"
HUBSPOT: Source = "hubspot"
SOURCES: tuple[Source, ...] = (SALESFORCE, HUBSPOT)

Role = Literal["activity", "opportunity", "contact", "account", "link", "other"]


@dataclass(frozen=True, slots=True)
class Facet:
    """Records whose `field` holds one of `values` (compared as lower-case text)."""

    field: str
    values: frozenset[str]
    meaning: str


@dataclass(frozen=True, slots=True)
class StreamInfo:
    source: Source
    name: str
    role: Role
    fields: frozenset[str]
    datetime_fields: frozenset[str] = frozenset()
    date_fields: frozenset[str] = frozenset()
    time_fields: tuple[str, ...] = ()
    """Default for a rule's `occurred_at`, first present wins."""
    seller_only: str | None = None
    """Why every record of this stream is the seller's own (None: some can be the customer's)."""
    customer_only: str | None = None
    """Why every record of this stream is the customer's own act (None: not all are)."""
    customer: tuple[Facet, ...] = ()
    """Any one of these makes a record the customer's action."""
    seller: tuple[Facet, ...] = ()
    """Any one of these makes a record the seller's own."""
    side_hint: str = ""
    """What to add to a rule that matches both sides."""
    properties: bool = False
    """HubSpot objects keep their values under `properties`; a bare name means a property."""
    object_type_id: str = ""
    top_level: frozenset[str] = field(default_factory=frozenset)

    def is_time_field(self, name: str) -> bool:
        return name in self.datetime_fields or name in self.date_fields


def _f(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _facet(name: str, values: str, meaning: str) -> Facet:
    return Facet(name, frozenset(v.lower() for v in values.split("|")), meaning)


_SF_AUDIT_TIMES = _f("CreatedDate LastModifiedDate SystemModstamp")


def _sf(
    name: str,
    role: Role,
    *,
    datetimes: str = "",
    dates: str = "",
    times: tuple[str, ...] = ("CreatedDate",),
    seller_only: str | None = None,
    customer: tuple[Facet, ...] = (),
    seller: tuple[Facet, ...] = (),
    hint: str = "",
) -> StreamInfo:
    return StreamInfo(
        source=SALESFORCE,
        name=name,
        role=role,
        fields=SALESFORCE_OBJECTS[name].fields | {"attributes"},
        datetime_fields=_SF_AUDIT_TIMES | _f(datetimes),
        date_fields=_f(dates),
        time_fields=times,
        seller_only=seller_only,
        customer=customer,
        seller=seller,
        side_hint=hint,
    )


_SALESFORCE_STREAMS: tuple[StreamInfo, ...] = (
    _sf(
        "EmailMessage",
        "activity",
        datetimes="MessageDate FirstOpenedDate LastOpenedDate",
        times=("MessageDate", "CreatedDate"),
        customer=(_facet("Incoming", "true", "mail the customer sent"),),
        seller=(
            _facet("Incoming", "false", "outgoing emails"),
            _facet("Status", "3|4|5", "sent, forwarded or draft emails"),
        ),
        hint="add `Incoming: true` (mail the customer sent)",
    ),
    _sf(
        "Task",
        "activity",
        datetimes="CompletedDateTime ReminderDateTime",
        dates="ActivityDate",
        times=("ActivityDate", "CompletedDateTime", "CreatedDate"),
        customer=(
            _facet("CallType", "Inbound", "calls the customer made"),
            _facet("CallDisposition", "Connected", "calls in which the customer spoke"),
        ),
        seller=(
            _facet("TaskSubtype", "Task|ListEmail|Cadence", "rep-created tasks"),
            _facet(
                "CallDisposition",
                "No Answer|Left Voicemail|Busy|Wrong Number|Not Reached",
                "logged call attempts",
            ),
        ),
        hint="add `CallType: Inbound` or `CallDisposition: Connected` (a call the customer took)",
    ),
    _sf(
        "Event",
        "activity",
        datetimes="StartDateTime EndDateTime ActivityDateTime ReminderDateTime",
        dates="ActivityDate",
        times=("StartDateTime", "ActivityDateTime", "ActivityDate"),
        customer=(_facet("Meeting_Outcome__c", "Held|Completed", "meetings that took place"),),
        seller=(
            _facet(
                "Meeting_Outcome__c",
                "Scheduled|No Show|Canceled|Cancelled|Rescheduled",
                "meetings booked but not held",
            ),
        ),
        hint="add a condition that the meeting took place (e.g. `Meeting_Outcome__c: Held`)",
    ),
    _sf(
        "Opportunity",
        "opportunity",
        datetimes="LastStageChangeDate LastViewedDate LastReferencedDate",
        dates="CloseDate LastActivityDate",
        seller_only="opportunity fields and stages that reps set",
    ),
    _sf(
        "OpportunityHistory",
        "other",
        dates="CloseDate PrevCloseDate",
        seller_only="stage changes a rep makes",
    ),
    _sf(
        "OpportunityContactRole",
        "link",
        seller_only="contact roles reps record",
    ),
    _sf(
        "OpportunityStage",
        "other",
        seller_only="stage definitions",
    ),
    _sf(
        "Account",
        "account",
        dates="LastActivityDate",
        seller_only="account records reps maintain",
    ),
    _sf(
        "Contact",
        "contact",
        datetimes="EmailBouncedDate",
        dates="Birthdate LastActivityDate",
    ),
    _sf(
        "Lead",
        "other",
        dates="ConvertedDate",
    ),
    _sf(
        "User",
        "other",
        seller_only="the seller's own users",
    ),
)

_HS_RECORD = "id createdAt updatedAt archived archivedAt associations properties"
_HS_TIMES = _f("createdAt updatedAt archivedAt hs_timestamp hs_createdate hs_lastmodifieddate")


def _hs(
    name: str,
    role: Role,
    *,
    fields: str | None = None,
    type_id: str,
    datetimes: str = "",
    dates: str = "",
    times: tuple[str, ...] = ("hs_timestamp", "createdAt"),
    seller_only: str | None = None,
    customer_only: str | None = None,
    customer: tuple[Facet, ...] = (),
    seller: tuple[Facet, ...] = (),
    hint: str = "",
    properties: bool = True,
    record: str = _HS_RECORD,
) -> StreamInfo:
    names = HUBSPOT_PROPERTIES[name] if fields is None else tuple(fields.split())
    return StreamInfo(
        source=HUBSPOT,
        name=name,
        role=role,
        fields=_f(record) | set(names),
        datetime_fields=_HS_TIMES | _f(datetimes),
        date_fields=_f(dates),
        time_fields=times,
        seller_only=seller_only,
        customer_only=customer_only,
        customer=customer,
        seller=seller,
        side_hint=hint,
        properties=properties,
        object_type_id=type_id,
        top_level=_f(record),
    )


_HUBSPOT_STREAMS: tuple[StreamInfo, ...] = (
    _hs(
        "emails",
        "activity",
        type_id="0-49",
        customer=(_facet("hs_email_direction", "INCOMING_EMAIL", "mail the customer sent"),),
        seller=(
            _facet("hs_email_direction", "EMAIL|FORWARDED_EMAIL", "outgoing or forwarded emails"),
        ),
        hint="add `hs_email_direction: INCOMING_EMAIL` (mail the customer sent)",
    ),
    _hs(
        "meetings",
        "activity",
        type_id="0-47",
        datetimes="hs_meeting_start_time hs_meeting_end_time",
        times=("hs_meeting_start_time", "hs_timestamp", "createdAt"),
        customer=(_facet("hs_meeting_outcome", "COMPLETED", "meetings that took place"),),
        seller=(
            _facet(
                "hs_meeting_outcome",
                "SCHEDULED|NO_SHOW|CANCELED|CANCELLED|RESCHEDULED",
                "meetings booked but not held",
            ),
        ),
        hint="add `hs_meeting_outcome: COMPLETED` (the meeting took place)",
    ),
    _hs(
        "calls",
        "activity",
        type_id="0-48",
        customer=(
            _facet("hs_call_direction", "INBOUND", "calls the customer made"),
            _facet(
                "hs_call_disposition",
                "f240bbac-87c9-4f6e-bf70-924b57d47db7|CONNECTED",
                "calls in which the customer spoke",
            ),
        ),
        seller=(
            _facet(
                "hs_call_disposition",
                "73a0d17f-1163-4015-bdd5-ec830791da20|b2cf5968-551e-4856-9783-52b3da59a7d0|"
                "9d9162e7-6cf3-4944-bf63-4dff82258764|17b47fee-58de-441e-a44c-c6300d46f273|"
                "NO_ANSWER|LEFT_VOICEMAIL|VOICEMAIL|BUSY|WRONG_NUMBER|LEFT_LIVE_MESSAGE",
                "logged call attempts",
            ),
            _facet(
                "hs_call_status",
                "NO_ANSWER|BUSY|FAILED|CANCELED|QUEUED|RINGING|CALLING_CRM_USER|CONNECTING",
                "logged call attempts",
            ),
        ),
        hint="add `hs_call_direction: INBOUND` or a connected disposition (the customer spoke)",
    ),
    _hs(
        "notes",
        "activity",
        type_id="0-46",
        seller_only="internal notes",
    ),
    _hs(
        "tasks",
        "activity",
        type_id="0-27",
        datetimes="hs_task_completion_date",
        seller_only="rep-created tasks",
    ),
    _hs(
        "deals",
        "opportunity",
        type_id="0-3",
        datetimes="closedate createdate notes_last_contacted notes_last_updated",
        times=("closedate", "createdAt"),
        seller_only="deal fields and stages that reps set",
    ),
    _hs(
        "contacts",
        "contact",
        type_id="0-1",
        datetimes="createdate lastmodifieddate recent_conversion_date first_conversion_date "
        "hs_email_last_reply_date hs_sales_email_last_replied notes_last_contacted",
        times=("createdate", "createdAt"),
    ),
    _hs(
        "companies",
        "account",
        type_id="0-2",
        datetimes="createdate",
        times=("createdate", "createdAt"),
        seller_only="company records reps maintain",
    ),
    _hs(
        "form_submissions",
        "activity",
        fields="",
        record="conversionId submittedAt pageUrl values formId formName email associations",
        type_id="",
        datetimes="submittedAt",
        times=("submittedAt",),
        customer_only="form submissions the customer sent",
        properties=False,
    ),
    _hs(
        "owners",
        "other",
        fields="hs_object_id hs_lastmodifieddate email firstName lastName userId teams",
        type_id="",
        times=("createdAt",),
        seller_only="the seller's own users",
        properties=False,
    ),
)

STREAMS: dict[tuple[Source, str], StreamInfo] = {
    (info.source, info.name): info for info in (*_SALESFORCE_STREAMS, *_HUBSPOT_STREAMS)
}


def stream_info(source: Source, stream: str) -> StreamInfo | None:
    return STREAMS.get((source, stream))


def streams_of(source: Source) -> list[str]:
    return sorted(name for (owner, name) in STREAMS if owner == source)


def deep_link(source: Source, stream: str, external_id: str, settings: Mapping[str, str]) -> str:
    """A link that opens the record in the CRM.

    Salesforce needs the org's `instance_url` (Lightning record pages); HubSpot the portal id
    (`portal_id`) and, outside the EU/US default, `app_url`.
    """
    if source == SALESFORCE:
        base = settings.get("instance_url", "").rstrip("/") or "https://login.salesforce.com"
        return f"{base}/lightning/r/{stream}/{external_id}/view"
    info = STREAMS.get((HUBSPOT, stream))
    portal = settings.get("portal_id", "0")
    app = settings.get("app_url", "https://app.hubspot.com").rstrip("/")
    if stream == "form_submissions":  # no page of its own: the portal's forms and submissions
        return f"{app}/forms/{portal}"
    type_id = info.object_type_id if info and info.object_type_id else stream
    return f"{app}/contacts/{portal}/record/{type_id}/{external_id}"
