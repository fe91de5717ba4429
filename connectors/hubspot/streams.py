"""The HubSpot streams, declared: object type, properties, cursor property, associations, pages.

Stream names in the raw layer are HubSpot's object types. Each object stream lists the
properties the mapping engine reads (those a portal lacks are skipped; properties a connection
adds are required), the object types whose associations travel inside each record, and, for
deals, the properties read with their history. Owners and pipelines are small reference data,
read whole every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.core import StreamSpec

__all__ = [
    "HUBSPOT_STREAMS",
    "LIST_PAGE",
    "LIST_PAGE_WITH_HISTORY",
    "OBJECT_STREAMS",
    "SEARCH_PAGE",
    "HubSpotStream",
    "hubspot_streams",
    "stream_info",
]

LIST_PAGE = 100
LIST_PAGE_WITH_HISTORY = 50  # HubSpot's maximum when propertiesWithHistory is asked for
SEARCH_PAGE = 200


@dataclass(frozen=True)
class HubSpotStream:
    """What the reader needs beyond the engine's `StreamSpec`."""

    associations: tuple[str, ...] = ()
    history: tuple[str, ...] = ()


_ENGAGEMENT = ("hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hubspot_owner_id")
_ENGAGEMENT_LINKS = ("deals", "contacts", "companies")


def _object(
    name: str,
    properties: str,
    *,
    cursor: str = "hs_lastmodifieddate",
    engagement: bool = True,
    history: tuple[str, ...] = (),
) -> StreamSpec:
    base = (*_ENGAGEMENT, "hs_object_id") if engagement else ("hs_object_id", cursor)
    return StreamSpec(
        name=name,
        object=name,
        cursor_field=cursor,
        primary_key="id",
        fields=tuple(dict.fromkeys((*base, *properties.split()))),
        page_size=LIST_PAGE_WITH_HISTORY if history else LIST_PAGE,
        mode="incremental",
        required_fields=("hs_object_id", cursor),
    )


HUBSPOT_STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("owners", "owners", "updatedAt", "id", page_size=500, mode="full_refresh"),
    StreamSpec("pipelines", "deals", "updatedAt", "id", page_size=100, mode="full_refresh"),
    _object(
        "companies",
        "name domain industry numberofemployees annualrevenue city state country phone website "
        "hubspot_owner_id lifecyclestage type description createdate num_associated_contacts "
        "num_associated_deals hs_lead_status",
        engagement=False,
    ),
    _object(
        "contacts",
        "firstname lastname email jobtitle phone mobilephone company associatedcompanyid "
        "hubspot_owner_id lifecyclestage hs_lead_status createdate lastmodifieddate city state "
        "country website industry recent_conversion_date recent_conversion_event_name "
        "first_conversion_date first_conversion_event_name num_conversion_events "
        "hs_analytics_source hs_email_last_reply_date hs_sales_email_last_replied "
        "hs_email_bounce notes_last_contacted hs_lastmodifieddate",
        cursor="lastmodifieddate",
        engagement=False,
    ),
    _object(
        "deals",
        "dealname amount dealstage pipeline closedate createdate hubspot_owner_id dealtype "
        "hs_deal_stage_probability hs_manual_forecast_category hs_forecast_category "
        "hs_forecast_probability hs_is_closed hs_is_closed_won hs_closed_amount "
        "hs_analytics_source description hs_priority hs_next_step num_associated_contacts "
        "days_to_close closed_lost_reason closed_won_reason hs_acv hs_arr hs_mrr hs_tcv "
        "deal_currency_code hs_createdate notes_last_contacted notes_last_updated",
        engagement=False,
        history=("dealstage",),
    ),
    _object(
        "emails",
        "hs_email_direction hs_email_status hs_email_subject hs_email_text hs_email_html "
        "hs_email_from_email hs_email_from_firstname hs_email_from_lastname hs_email_to_email "
        "hs_email_to_firstname hs_email_to_lastname hs_email_cc_email hs_email_bcc_email "
        "hs_email_headers hs_email_sender_email hs_email_thread_id hs_email_message_id "
        "hs_email_logged_from hs_attachment_ids hs_body_preview",
    ),
    _object(
        "meetings",
        "hs_meeting_title hs_meeting_body hs_internal_meeting_notes hs_meeting_external_url "
        "hs_meeting_location hs_meeting_start_time hs_meeting_end_time hs_meeting_outcome "
        "hs_activity_type hs_attachment_ids",
    ),
    _object(
        "calls",
        "hs_call_title hs_call_body hs_call_direction hs_call_status hs_call_duration "
        "hs_call_disposition hs_call_from_number hs_call_to_number hs_call_recording_url "
        "hs_activity_type hs_attachment_ids",
    ),
    _object("notes", "hs_note_body hs_attachment_ids"),
    _object(
        "tasks",
        "hs_task_subject hs_task_body hs_task_status hs_task_priority hs_task_type "
        "hs_task_completion_date hs_task_reminders hs_task_is_completed",
    ),
)
OBJECT_STREAMS = frozenset(s.name for s in HUBSPOT_STREAMS if s.mode == "incremental")

_INFO: dict[str, HubSpotStream] = {
    "companies": HubSpotStream(associations=("contacts", "deals")),
    "contacts": HubSpotStream(associations=("companies", "deals")),
    "deals": HubSpotStream(associations=("contacts", "companies"), history=("dealstage",)),
    "emails": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "meetings": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "calls": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "notes": HubSpotStream(associations=_ENGAGEMENT_LINKS),
    "tasks": HubSpotStream(associations=_ENGAGEMENT_LINKS),
}


def stream_info(name: str) -> HubSpotStream:
    return _INFO.get(name, HubSpotStream())


def hubspot_streams(
    only: Sequence[str] | None = None, extra_fields: Mapping[str, Sequence[str]] | None = None
) -> list[StreamSpec]:
    """The streams to sync: all, or `only` these, each with any extra (custom) properties."""
    extra_fields = extra_fields or {}
    known = {spec.name: spec for spec in HUBSPOT_STREAMS}
    unknown = sorted(set(only or ()) - set(known))
    unknown += sorted(set(extra_fields) - OBJECT_STREAMS)
    if unknown:
        raise ValueError(
            f"unknown HubSpot stream(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            " (extra properties only on object streams)"
        )
    chosen = [known[name] for name in only] if only else list(HUBSPOT_STREAMS)
    return [
        spec.with_fields(tuple(dict.fromkeys((*spec.fields, *extra_fields.get(spec.name, ())))))
        for spec in chosen
    ]
