"""The Salesforce files: API field names, real ids, Salesforce value formats, resolvable links."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from sandbox.history.salesforce_schema import FIELDS, OBJECTS, header
from sandbox.history.sfid import KEY_PREFIXES, is_valid_id
from tests.sandbox.history.conftest import Export

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
AUDIT = {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"}


@pytest.mark.parametrize("name", OBJECTS)
def test_headers_are_api_field_names_with_id_first(export: Export, name: str) -> None:
    for folder in ("salesforce", "future/salesforce"):
        columns = export.header(f"{folder}/{name}.csv")
        assert columns == list(header(name))
        assert columns[0] == "Id"
        assert set(columns) >= AUDIT


@pytest.mark.parametrize("name", OBJECTS)
def test_values_have_salesforce_formats(export: Export, name: str) -> None:
    rows = export.rows(f"salesforce/{name}.csv") + export.rows(f"future/salesforce/{name}.csv")
    assert rows
    prefixes = {v: k for k, v in KEY_PREFIXES.items()}
    for field, kind, refs in FIELDS[name]:
        values = [row[field] for row in rows if row[field] != ""]
        if kind == "id":
            assert len(values) == len(rows)
            assert all(is_valid_id(v) and prefixes[v[:3]] == name for v in values)
        elif kind == "reference":
            assert all(is_valid_id(v) and prefixes[v[:3]] in refs for v in values), field
        elif kind == "datetime":
            assert all(DATETIME.match(v) for v in values), field
        elif kind == "date":
            assert all(DATE.match(v) for v in values), field
        elif kind == "boolean":
            assert set(values) <= {"true", "false"}, field
        elif kind in ("int", "double", "currency", "percent"):
            assert all(NUMBER.match(v) for v in values), field


@pytest.mark.parametrize("name", OBJECTS)
def test_each_record_appears_once_in_the_base_files(export: Export, name: str) -> None:
    ids = Counter(row["Id"] for row in export.rows(f"salesforce/{name}.csv"))
    assert ids and max(ids.values()) == 1


def test_references_resolve_within_the_state_at_now(export: Export) -> None:
    ids = {name: {r["Id"] for r in export.rows(f"salesforce/{name}.csv")} for name in OBJECTS}
    everything = set().union(*ids.values())
    for name in OBJECTS:
        references = [f for f, kind, _ in FIELDS[name] if kind == "reference"]
        for row in export.rows(f"salesforce/{name}.csv"):
            for field in references:
                assert row[field] == "" or row[field] in everything, (name, field, row["Id"])
    tasks = ids["Task"]
    assert all(r["ActivityId"] in tasks for r in export.rows("salesforce/EmailMessage.csv"))


def test_activities_look_like_enhanced_email_and_logged_calls(export: Export) -> None:
    tasks = export.rows("salesforce/Task.csv")
    assert {t["TaskSubtype"] for t in tasks} == {"Email", "Call", "Task"}
    calls = [t for t in tasks if t["TaskSubtype"] == "Call"]
    assert {t["CallType"] for t in calls} == {"Inbound", "Outbound"}
    assert all(t["CallType"] == "" for t in tasks if t["TaskSubtype"] != "Call")
    assert {"Connected", "No Answer", "Left Voicemail"} <= {t["CallDisposition"] for t in calls}
    assert {t["Status"] for t in tasks} == {"Completed", "Not Started"}
    assert any(t["IsDeleted"] == "true" for t in tasks)
    assert any(t["WhatId"] == "" for t in tasks)  # logged on the contact only
    assert any(t["WhatId"].startswith("001") for t in tasks)  # on the account only
    assert any(t["LastModifiedDate"] > t["CreatedDate"] for t in tasks)  # edited later
    emails = export.rows("salesforce/EmailMessage.csv")
    assert {e["Incoming"] for e in emails} == {"true", "false"}
    assert any(e["IsBounced"] == "true" for e in emails)
    assert any(e["Subject"].startswith("Automatic reply") for e in emails)
    assert any(e["HasAttachment"] == "true" and e["Incoming"] == "true" for e in emails)
    events = export.rows("salesforce/Event.csv")
    assert {"Held", "No Show", "Canceled"} <= {e["Meeting_Outcome__c"] for e in events}
    assert all(e["StartDateTime"] < e["EndDateTime"] for e in events)


def test_late_logging_shows_as_created_after_the_activity_date(export: Export) -> None:
    calls = [t for t in export.rows("salesforce/Task.csv") if t["TaskSubtype"] == "Call"]
    assert any(t["CreatedDate"][:10] > t["ActivityDate"] for t in calls)


def test_opportunities_carry_the_reps_fields(export: Export) -> None:
    stages = {s["MasterLabel"]: s for s in export.rows("salesforce/OpportunityStage.csv")}
    assert len(stages) == 10
    assert stages["Closed Won"]["IsWon"] == "true"
    assert stages["Closed Lost"]["ForecastCategoryName"] == "Omitted"
    opportunities = export.rows("salesforce/Opportunity.csv")
    for opportunity in opportunities:
        stage = stages[opportunity["StageName"]]
        assert opportunity["Probability"] == stage["DefaultProbability"]
        assert opportunity["IsClosed"] == stage["IsClosed"]
        assert opportunity["IsWon"] == stage["IsWon"]
    assert {o["Type"] for o in opportunities} == {"New Business", "Existing Business"}
    assert {o["Segment__c"] for o in opportunities} == {"Enterprise", "SMB"}
    assert {"Pipeline", "Best Case", "Commit", "Closed", "Omitted"} >= {
        o["ForecastCategoryName"] for o in opportunities
    }
    assert any(o["IsDeleted"] == "true" for o in opportunities)  # a duplicate, deleted
    history = export.rows("salesforce/OpportunityHistory.csv")
    per_opportunity = Counter(h["OpportunityId"] for h in history)
    assert set(per_opportunity) == {o["Id"] for o in opportunities}
    assert max(per_opportunity.values()) >= 4


def test_leads_convert_into_account_contact_and_opportunity(export: Export) -> None:
    leads = export.rows("salesforce/Lead.csv")
    converted = [lead for lead in leads if lead["IsConverted"] == "true"]
    assert converted and all(
        lead["ConvertedOpportunityId"] and lead["ConvertedContactId"] and lead["ConvertedDate"]
        for lead in converted
    )
    assert any(lead["Status"] == "Open - Not Contacted" for lead in leads)


def test_describe_types_every_column(export: Export) -> None:
    describe = json.loads((export.out / "salesforce/describe.json").read_text())
    assert set(describe) == set(OBJECTS)
    for name in OBJECTS:
        assert list(describe[name]) == export.header(f"salesforce/{name}.csv")
        assert describe[name]["Id"] == {"type": "id", "referenceTo": []}
    assert describe["Task"]["WhatId"] == {
        "type": "reference",
        "referenceTo": ["Opportunity", "Account"],
    }
    assert describe["Opportunity"]["Amount"]["type"] == "currency"


def test_nothing_refers_to_a_record_created_after_it(export: Export) -> None:
    created: dict[str, str] = {}
    for name in OBJECTS:
        for folder in ("salesforce", "future/salesforce"):
            for row in export.rows(f"{folder}/{name}.csv"):
                created.setdefault(row["Id"], row["CreatedDate"])
    for name in ("Task", "Event", "EmailMessage", "OpportunityContactRole", "Opportunity"):
        references = [f for f, kind, _ in FIELDS[name] if kind == "reference"]
        for folder in ("salesforce", "future/salesforce"):
            for row in export.rows(f"{folder}/{name}.csv"):
                for field in references:
                    target = row[field]
                    if target and not target.startswith("005"):
                        assert created[target] <= row["CreatedDate"], (name, field, row["Id"])
