"""The HubSpot side of the export: columns per object type, deal pipelines, association types.

Object files start with `id, createdAt, updatedAt, archived` and go on with property internal
names. Pipelines map the reps' stage ladder (`params.STAGES`) onto HubSpot deal stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.history.clock import format_datetime
from sandbox.history.model import Form

__all__ = [
    "ASSOCIATION_TYPES",
    "COLUMNS",
    "FORM_SUBMISSION_COLUMNS",
    "OBJECT_TYPES",
    "PIPELINES",
    "HubSpotPipeline",
    "HubSpotStage",
    "forms_json",
    "pipelines_json",
]

_RECORD = ("id", "createdAt", "updatedAt", "archived")
_ENGAGEMENT = ("hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hubspot_owner_id")

COLUMNS: dict[str, tuple[str, ...]] = {
    "owners": (
        "id",
        "email",
        "firstName",
        "lastName",
        "userId",
        "createdAt",
        "updatedAt",
        "archived",
        "teams",
    ),
    "companies": (
        *_RECORD,
        "name",
        "domain",
        "industry",
        "numberofemployees",
        "city",
        "country",
        "hubspot_owner_id",
        "lifecyclestage",
        "segment",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    "contacts": (
        *_RECORD,
        "firstname",
        "lastname",
        "email",
        "jobtitle",
        "phone",
        "company",
        "associatedcompanyid",
        "hubspot_owner_id",
        "lifecyclestage",
        "hs_lead_status",
        "createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    "deals": (
        *_RECORD,
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "hubspot_owner_id",
        "dealtype",
        "hs_deal_stage_probability",
        "hs_manual_forecast_category",
        "hs_is_closed",
        "hs_is_closed_won",
        "segment",
        "hs_analytics_source",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    "emails": (
        *_RECORD,
        *_ENGAGEMENT,
        "hs_email_direction",
        "hs_email_status",
        "hs_email_subject",
        "hs_email_text",
        "hs_email_from_email",
        "hs_email_to_email",
        "hs_attachment_ids",
        "hs_object_id",
    ),
    "meetings": (
        *_RECORD,
        *_ENGAGEMENT,
        "hs_meeting_title",
        "hs_meeting_body",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_meeting_outcome",
        "hs_meeting_location",
        "hs_object_id",
    ),
    "calls": (
        *_RECORD,
        *_ENGAGEMENT,
        "hs_call_title",
        "hs_call_body",
        "hs_call_direction",
        "hs_call_status",
        "hs_call_duration",
        "hs_call_disposition",
        "hs_object_id",
    ),
    "notes": (*_RECORD, *_ENGAGEMENT, "hs_note_body", "hs_attachment_ids", "hs_object_id"),
    "tasks": (
        *_RECORD,
        *_ENGAGEMENT,
        "hs_task_subject",
        "hs_task_body",
        "hs_task_status",
        "hs_task_priority",
        "hs_task_type",
        "hs_task_completion_date",
        "hs_object_id",
    ),
}
OBJECT_TYPES: tuple[str, ...] = tuple(COLUMNS)
FORM_SUBMISSION_COLUMNS = (
    "conversionId",
    "formId",
    "submittedAt",
    "pageUrl",
    "email",
    "firstname",
    "lastname",
    "company",
)
"""One row per submission (`--forms`); the form's fields are the last four columns."""
ASSOCIATION_COLUMNS = ("fromType", "fromId", "toType", "toId", "typeId")
HISTORY_COLUMNS = ("objectType", "id", "property", "value", "timestamp", "sourceType")

# HubSpot-defined association type ids, (from, to) -> typeId; the inverse direction is listed
# too so a reader can derive it. The export writes the first-listed direction of each pair.
ASSOCIATION_TYPES: dict[tuple[str, str], int] = {
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("calls", "contacts"): 194,
    ("contacts", "calls"): 193,
    ("calls", "companies"): 182,
    ("companies", "calls"): 181,
    ("calls", "deals"): 206,
    ("deals", "calls"): 205,
    ("emails", "contacts"): 198,
    ("contacts", "emails"): 197,
    ("emails", "companies"): 186,
    ("companies", "emails"): 185,
    ("emails", "deals"): 210,
    ("deals", "emails"): 209,
    ("meetings", "contacts"): 200,
    ("contacts", "meetings"): 199,
    ("meetings", "companies"): 188,
    ("companies", "meetings"): 187,
    ("meetings", "deals"): 212,
    ("deals", "meetings"): 211,
    ("notes", "contacts"): 202,
    ("contacts", "notes"): 201,
    ("notes", "companies"): 190,
    ("companies", "notes"): 189,
    ("notes", "deals"): 214,
    ("deals", "notes"): 213,
    ("tasks", "contacts"): 204,
    ("contacts", "tasks"): 203,
    ("tasks", "companies"): 192,
    ("companies", "tasks"): 191,
    ("tasks", "deals"): 216,
    ("deals", "tasks"): 215,
}


@dataclass(frozen=True)
class HubSpotStage:
    id: str
    label: str
    probability: str
    is_closed: bool
    ladder: tuple[int, ...]


@dataclass(frozen=True)
class HubSpotPipeline:
    id: str
    label: str
    stages: tuple[HubSpotStage, ...]

    def stage_for(self, ladder_index: int) -> HubSpotStage:
        for stage in self.stages:
            if ladder_index in stage.ladder:
                return stage
        raise KeyError(ladder_index)


PIPELINES: dict[str, HubSpotPipeline] = {
    "default": HubSpotPipeline(
        "default",
        "Sales Pipeline",
        (
            HubSpotStage("appointmentscheduled", "Appointment Scheduled", "0.2", False, (0, 1)),
            HubSpotStage("qualifiedtobuy", "Qualified To Buy", "0.4", False, (2,)),
            HubSpotStage(
                "presentationscheduled", "Presentation Scheduled", "0.6", False, (3, 4, 5)
            ),
            HubSpotStage("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False, (6,)),
            HubSpotStage("contractsent", "Contract Sent", "0.9", False, (7,)),
            HubSpotStage("closedwon", "Closed Won", "1.0", True, (8,)),
            HubSpotStage("closedlost", "Closed Lost", "0.0", True, (9,)),
        ),
    ),
    "smb": HubSpotPipeline(
        "75834211",
        "SMB Pipeline",
        (
            HubSpotStage("158273641", "New", "0.1", False, (0, 1)),
            HubSpotStage("158273642", "Demo done", "0.3", False, (2, 3, 4, 5)),
            HubSpotStage("158273643", "Proposal sent", "0.6", False, (6, 7)),
            HubSpotStage("158273644", "Closed won", "1.0", True, (8,)),
            HubSpotStage("158273645", "Closed lost", "0.0", True, (9,)),
        ),
    ),
}
"""Enterprise and expansion deals run in the default pipeline, SMB deals in the SMB pipeline."""


def pipelines_json(created_at: int) -> list[dict[str, Any]]:
    """The `results` of GET /crm/v3/pipelines/deals."""
    stamp = format_datetime(created_at)
    results: list[dict[str, Any]] = []
    for order, pipeline in enumerate(PIPELINES.values()):
        results.append(
            {
                "label": pipeline.label,
                "displayOrder": order,
                "id": pipeline.id,
                "stages": [
                    {
                        "label": stage.label,
                        "displayOrder": index,
                        "metadata": {
                            "isClosed": "true" if stage.is_closed else "false",
                            "probability": stage.probability,
                        },
                        "id": stage.id,
                        "createdAt": stamp,
                        "updatedAt": stamp,
                        "archived": False,
                        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                    }
                    for index, stage in enumerate(pipeline.stages)
                ],
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
            }
        )
    return results


_FORM_FIELDS = (
    ("email", "Email", "email"),
    ("firstname", "First name", "single_line_text"),
    ("lastname", "Last name", "single_line_text"),
    ("company", "Company name", "single_line_text"),
)


def forms_json(forms: tuple[Form, ...], created_at: int) -> list[dict[str, Any]]:
    """The `results` of GET /marketing/v3/forms: each form's definition, as HubSpot gives it."""
    stamp = format_datetime(created_at)
    return [
        {
            "id": form.guid,
            "name": form.name,
            "formType": "hubspot",
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "fieldGroups": [
                {
                    "groupType": "default_group",
                    "richTextType": "text",
                    "fields": [
                        {
                            "objectTypeId": "0-1",
                            "name": name,
                            "label": label,
                            "required": name == "email",
                            "hidden": False,
                            "fieldType": field_type,
                        }
                    ],
                }
                for name, label, field_type in _FORM_FIELDS
            ],
            "configuration": {
                "language": "en",
                "createNewContactForNewEmail": False,
                "allowLinkToResetKnownValues": False,
                "lifecycleStages": [],
                "postSubmitAction": {"type": "thank_you", "value": "Thanks!"},
                "archivable": True,
                "editable": True,
                "recaptchaEnabled": False,
                "notifyContactOwner": True,
                "notifyRecipients": [],
                "prePopulateKnownValues": True,
                "cloneable": True,
            },
        }
        for form in forms
    ]
