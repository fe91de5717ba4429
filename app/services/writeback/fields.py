"""The write-back field set: which KPI fields go onto each opportunity (deal) and account
(company), under which CRM names, and how each value is typed in each CRM.

A connection's settings carry a `writeback` section; every field has a default name per CRM
and can be renamed or switched off. Account fields are off unless `account_fields` is on.

    {"writeback": {"fields": {"next_step": {"enabled": false},
                              "stalled": {"name": "Deal_Stalled__c"}},
                   "account_fields": true}}

    field_set(settings)      # the resolved fields per CRM object, in a fixed order
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from connectors.core.writes import FieldDefinition, FieldKind

__all__ = [
    "ACCOUNT_FIELDS",
    "OBJECTS",
    "OPPORTUNITY_FIELDS",
    "OPTIONAL_OPPORTUNITY_FIELDS",
    "AccountFieldKey",
    "FieldChoice",
    "FieldKey",
    "FieldSet",
    "ObjectFields",
    "ResolvedField",
    "WritebackSettings",
    "crm_value",
    "field_set",
    "name_problems",
    "written_names",
]

FieldKey = Literal[
    "milestone_name",
    "milestone_number",
    "last_customer_action_date",
    "last_customer_action_kind",
    "days_at_milestone",
    "win_probability",
    "expected_value",
    "forecast_close_month",
    "stalled",
    "next_step",
    "team_plan_status",
]
AccountFieldKey = Literal[
    "account_open_opportunities",
    "account_expected_value",
    "account_stalled_opportunities",
    "account_furthest_milestone",
]
Crm = Literal["salesforce", "hubspot"]


@dataclass(frozen=True)
class _Catalogued:
    key: str
    salesforce: str
    hubspot: str
    label: str
    kind: FieldKind
    description: str
    length: int | None = None


OPPORTUNITY_FIELDS: tuple[_Catalogued, ...] = (
    _Catalogued(
        "milestone_name", "Milestone__c", "ms_milestone", "Milestone", "text",
        "The last customer milestone reached (Milestone Sync).", 255,
    ),
    _Catalogued(
        "milestone_number", "Milestone_Number__c", "ms_milestone_number", "Milestone Number",
        "number", "Position of the current milestone in its sales process; 0 before the first.",
    ),
    _Catalogued(
        "last_customer_action_date", "Last_Customer_Action__c", "ms_last_customer_action",
        "Last Customer Action", "date", "When the customer last did, said or wrote something.",
    ),
    _Catalogued(
        "last_customer_action_kind", "Last_Customer_Action_Kind__c",
        "ms_last_customer_action_kind", "Last Customer Action Kind", "text",
        "What the customer last did: does, says or writes.", 20,
    ),
    _Catalogued(
        "days_at_milestone", "Days_At_Milestone__c", "ms_days_at_milestone", "Days At Milestone",
        "number", "Whole days since the current milestone was reached (to closing, once closed).",
    ),
    _Catalogued(
        "win_probability", "Win_Probability__c", "ms_win_probability", "Win Probability",
        "percent", "Chance of winning, from how deals at this milestone have ended (percent).",
    ),
    _Catalogued(
        "expected_value", "Expected_Value__c", "ms_expected_value", "Expected Value",
        "currency", "Amount times win probability.",
    ),
    _Catalogued(
        "forecast_close_month", "Forecast_Close_Month__c", "ms_forecast_close_month",
        "Forecast Close Month", "date",
        "First day of the month by which, if won, the deal is more likely than not won "
        "(from history, not the close date).",
    ),
    _Catalogued(
        "stalled", "Stalled__c", "ms_stalled", "Stalled", "checkbox",
        "Longer at this milestone than 80% of deals that moved on from it.",
    ),
    _Catalogued(
        "next_step", "Next_Step_Guidance__c", "ms_next_step", "Next Step Guidance", "longtext",
        "How to reach the next milestone.", 4000,
    ),
)  # fmt: skip
OPTIONAL_OPPORTUNITY_FIELDS: tuple[_Catalogued, ...] = (
    _Catalogued(
        "team_plan_status", "Milestones_Team_Plan_Status__c", "ms_team_plan_status",
        "Team Plan Status", "text",
        "On track or behind for this period's target (the owner's, else the team's, else the "
        "process's), and the movement needed this week (Milestone Sync).", 255,
    ),
)  # fmt: skip
"""Off unless a connection's settings switch them on: `{"team_plan_status": {"enabled": true}}`."""
ACCOUNT_FIELDS: tuple[_Catalogued, ...] = (
    _Catalogued(
        "account_open_opportunities", "Open_Opportunities_Milestone__c", "ms_open_deals",
        "Open Opportunities (Milestones)", "number", "Open opportunities in a sales process.",
    ),
    _Catalogued(
        "account_expected_value", "Expected_Value__c", "ms_expected_value",
        "Expected Value", "currency", "Sum of the open opportunities' expected values.",
    ),
    _Catalogued(
        "account_stalled_opportunities", "Stalled_Opportunities__c", "ms_stalled_deals",
        "Stalled Opportunities", "number", "Open opportunities that are stalled.",
    ),
    _Catalogued(
        "account_furthest_milestone", "Furthest_Milestone__c", "ms_furthest_milestone",
        "Furthest Milestone", "text", "The furthest milestone among open opportunities.", 255,
    ),
)  # fmt: skip
OBJECTS: dict[Crm, tuple[str, str]] = {
    "salesforce": ("Opportunity", "Account"),
    "hubspot": ("deals", "companies"),
}
_SALESFORCE_STEM = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$")
_HUBSPOT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def _valid_name(crm: Crm, name: str) -> bool:
    if crm == "hubspot":
        return bool(_HUBSPOT_NAME.match(name))
    stem = name.removesuffix("__c")
    return name.endswith("__c") and len(stem) <= 40 and bool(_SALESFORCE_STEM.match(stem))


class FieldChoice(BaseModel):
    enabled: bool = True
    name: str | None = Field(default=None, min_length=1, max_length=100)


class WritebackSettings(BaseModel):
    enabled: bool = Field(default=True, description="Write back after every pipeline pass.")
    fields: dict[FieldKey, FieldChoice] = Field(default_factory=dict)
    account_fields: bool = Field(default=False, description="Also write account/company fields.")
    account: dict[AccountFieldKey, FieldChoice] = Field(default_factory=dict)
    hubspot_group: str = Field(default="milestone_sync", pattern=r"^[a-z][a-z0-9_]{0,99}$")
    retry_minutes: float = Field(
        default=5.0, gt=0, le=1440, description="Wait after a record's first failure; doubles."
    )
    retry_max_hours: float = Field(default=24.0, gt=0, le=24 * 30)


@dataclass(frozen=True)
class ResolvedField:
    key: str
    definition: FieldDefinition


@dataclass(frozen=True)
class ObjectFields:
    object_type: str
    fields: tuple[ResolvedField, ...]

    @property
    def definitions(self) -> list[FieldDefinition]:
        return [f.definition for f in self.fields]


@dataclass(frozen=True)
class FieldSet:
    crm: Crm
    opportunity: ObjectFields
    account: ObjectFields | None

    def objects(self) -> list[ObjectFields]:
        return [o for o in (self.opportunity, self.account) if o is not None and o.fields]


def _resolve(
    crm: Crm,
    object_type: str,
    catalogue: tuple[_Catalogued, ...],
    choices: dict[Any, FieldChoice],
    optional: tuple[_Catalogued, ...] = (),
) -> ObjectFields:
    fields = []
    for entry in catalogue + optional:
        choice = choices.get(entry.key) or FieldChoice(enabled=entry not in optional)
        if not choice.enabled:
            continue
        name = choice.name or (entry.salesforce if crm == "salesforce" else entry.hubspot)
        definition = FieldDefinition(name, entry.label, entry.kind, entry.description, entry.length)
        fields.append(ResolvedField(entry.key, definition))
    return ObjectFields(object_type, tuple(fields))


def field_set(crm: Crm, settings: WritebackSettings) -> FieldSet:
    opportunity_type, account_type = OBJECTS[crm]
    return FieldSet(
        crm,
        _resolve(
            crm,
            opportunity_type,
            OPPORTUNITY_FIELDS,
            dict(settings.fields),
            OPTIONAL_OPPORTUNITY_FIELDS,
        ),
        _resolve(crm, account_type, ACCOUNT_FIELDS, dict(settings.account))
        if settings.account_fields
        else None,
    )


def name_problems(crm: Crm, settings: WritebackSettings) -> list[str]:
    """Names the CRM would refuse, and names used twice on one object."""
    rule = (
        "a Salesforce custom field API name (letters, digits, single underscores, ending __c)"
        if crm == "salesforce"
        else "a HubSpot internal name (lower case letters, digits, underscores)"
    )
    problems = []
    resolved = field_set(crm, settings.model_copy(update={"account_fields": True}))
    for fields in resolved.objects():
        seen: dict[str, str] = {}
        for field in fields.fields:
            name = field.definition.name
            if not _valid_name(crm, name):
                problems.append(f"writeback.{field.key}: {name!r} is not {rule}")
            if name.lower() in seen:
                problems.append(
                    f"writeback.{field.key}: {name!r} is also the name of {seen[name.lower()]}"
                )
            seen[name.lower()] = field.key
    return problems


def written_names(crm: Crm, settings: WritebackSettings) -> dict[str, frozenset[str]]:
    """Every name write-back may write, per CRM object (account fields whether on or not)."""
    resolved = field_set(crm, settings.model_copy(update={"account_fields": True}))
    return {
        o.object_type: frozenset(f.definition.name for f in o.fields) for o in resolved.objects()
    }


def crm_value(crm: Crm, definition: FieldDefinition, value: Any) -> Any:
    """A value as the CRM's API takes it for this field (HubSpot: strings, "" clears)."""
    if isinstance(value, str) and definition.length is not None:
        value = value[: definition.length]
    if crm == "salesforce":
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
