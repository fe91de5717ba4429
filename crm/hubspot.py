"""The HubSpot object types the product reads, and the properties it asks for on each.

The connector requests exactly these properties (plus any a connection adds), and the mapping
rules know exactly these names, so a rule can only name a property that a sync brings in.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ENGAGEMENT_PROPERTIES", "HUBSPOT_PROPERTIES"]

ENGAGEMENT_PROPERTIES = (
    "hs_timestamp",
    "hs_createdate",
    "hs_lastmodifieddate",
    "hubspot_owner_id",
    "hs_object_id",
)
"""Read on every engagement (emails, meetings, calls, notes, tasks)."""


def _engagement(own: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*ENGAGEMENT_PROPERTIES, *own.split())))


def _record(own: str, *, modified: str = "hs_lastmodifieddate") -> tuple[str, ...]:
    return tuple(dict.fromkeys(("hs_object_id", modified, *own.split())))


HUBSPOT_PROPERTIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "companies": _record(
            "name domain industry numberofemployees annualrevenue city state country phone "
            "website hubspot_owner_id lifecyclestage type description createdate "
            "num_associated_contacts num_associated_deals hs_lead_status"
        ),
        "contacts": _record(
            "firstname lastname email jobtitle phone mobilephone company associatedcompanyid "
            "hubspot_owner_id lifecyclestage hs_lead_status createdate lastmodifieddate city "
            "state country website industry recent_conversion_date recent_conversion_event_name "
            "first_conversion_date first_conversion_event_name num_conversion_events "
            "hs_analytics_source hs_email_last_reply_date hs_sales_email_last_replied "
            "hs_email_bounce notes_last_contacted hs_lastmodifieddate",
            modified="lastmodifieddate",
        ),
        "deals": _record(
            "dealname amount dealstage pipeline closedate createdate hubspot_owner_id dealtype "
            "hs_deal_stage_probability hs_manual_forecast_category hs_forecast_category "
            "hs_forecast_probability hs_is_closed hs_is_closed_won hs_closed_amount "
            "hs_analytics_source description hs_priority hs_next_step num_associated_contacts "
            "days_to_close closed_lost_reason closed_won_reason hs_acv hs_arr hs_mrr hs_tcv "
            "deal_currency_code hs_createdate notes_last_contacted notes_last_updated"
        ),
        "emails": _engagement(
            "hs_email_direction hs_email_status hs_email_subject hs_email_text hs_email_html "
            "hs_email_from_email hs_email_from_firstname hs_email_from_lastname "
            "hs_email_to_email hs_email_to_firstname hs_email_to_lastname hs_email_cc_email "
            "hs_email_bcc_email hs_email_headers hs_email_sender_email hs_email_thread_id "
            "hs_email_message_id hs_email_logged_from hs_attachment_ids hs_body_preview"
        ),
        "meetings": _engagement(
            "hs_meeting_title hs_meeting_body hs_internal_meeting_notes hs_meeting_external_url "
            "hs_meeting_location hs_meeting_start_time hs_meeting_end_time hs_meeting_outcome "
            "hs_activity_type hs_attachment_ids"
        ),
        "calls": _engagement(
            "hs_call_title hs_call_body hs_call_direction hs_call_status hs_call_duration "
            "hs_call_disposition hs_call_from_number hs_call_to_number hs_call_recording_url "
            "hs_activity_type hs_attachment_ids"
        ),
        "notes": _engagement("hs_note_body hs_attachment_ids"),
        "tasks": _engagement(
            "hs_task_subject hs_task_body hs_task_status hs_task_priority hs_task_type "
            "hs_task_completion_date hs_task_reminders hs_task_is_completed"
        ),
    }
)
