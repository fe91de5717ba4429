"""The HubSpot files: property internal names, API value formats, pipelines, associations."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

import pytest

from sandbox.history.hubspot_schema import ASSOCIATION_TYPES, COLUMNS, OBJECT_TYPES
from tests.sandbox.history.conftest import Export

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
ENGAGEMENTS = ("emails", "meetings", "calls", "notes", "tasks")
TIME_PROPERTIES = {
    "createdAt",
    "updatedAt",
    "createdate",
    "hs_createdate",
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "hs_timestamp",
    "closedate",
    "hs_meeting_start_time",
    "hs_meeting_end_time",
    "hs_task_completion_date",
}


@pytest.mark.parametrize("name", OBJECT_TYPES)
def test_headers(export: Export, name: str) -> None:
    columns = export.header(f"hubspot/{name}.csv")
    assert columns == list(COLUMNS[name])
    assert export.header(f"future/hubspot/{name}.csv") == columns
    if name == "owners":
        assert columns == [
            "id",
            "email",
            "firstName",
            "lastName",
            "userId",
            "createdAt",
            "updatedAt",
            "archived",
            "teams",
        ]
    else:
        assert columns[:4] == ["id", "createdAt", "updatedAt", "archived"]


@pytest.mark.parametrize("name", OBJECT_TYPES)
def test_values_are_api_strings(export: Export, name: str) -> None:
    rows = export.rows(f"hubspot/{name}.csv") + export.rows(f"future/hubspot/{name}.csv")
    assert rows
    for row in rows:
        assert row["id"].isdigit()
        assert row["archived"] in ("true", "false")
        for column in TIME_PROPERTIES & set(row):
            assert row[column] == "" or DATETIME.match(row[column]), (name, column)
        for column in ("hubspot_owner_id", "hs_object_id", "associatedcompanyid", "userId"):
            assert row.get(column, "") == "" or row[column].isdigit()
    base = Counter(row["id"] for row in export.rows(f"hubspot/{name}.csv"))
    assert max(base.values()) == 1


def test_engagements_use_hubspot_enumerations(export: Export) -> None:
    emails = export.rows("hubspot/emails.csv")
    assert {e["hs_email_direction"] for e in emails} == {
        "INCOMING_EMAIL",
        "EMAIL",
        "FORWARDED_EMAIL",
    }
    assert {"SENT", "BOUNCED"} <= {e["hs_email_status"] for e in emails}
    meetings = export.rows("hubspot/meetings.csv")
    outcomes = {m["hs_meeting_outcome"] for m in meetings}
    assert outcomes <= {"SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"}
    assert {"COMPLETED", "NO_SHOW", "CANCELED"} <= outcomes
    calls = export.rows("hubspot/calls.csv")
    assert {c["hs_call_direction"] for c in calls} == {"INBOUND", "OUTBOUND"}
    assert all(c["hs_call_duration"].isdigit() for c in calls)
    assert {"COMPLETED", "NO_ANSWER"} <= {c["hs_call_status"] for c in calls}
    tasks = export.rows("hubspot/tasks.csv")
    assert {t["hs_task_status"] for t in tasks} == {"COMPLETED", "NOT_STARTED"}
    notes = export.rows("hubspot/notes.csv")
    assert all(n["hs_note_body"] for n in notes)
    assert any(e["archived"] == "true" for e in emails + calls + tasks + notes)


def test_pipelines_are_what_the_api_returns(export: Export) -> None:
    pipelines = json.loads((export.out / "hubspot/pipelines.json").read_text())
    assert pipelines[0]["id"] == "default"
    stages = {}
    for pipeline in pipelines:
        assert {"id", "label", "displayOrder", "stages", "archived"} <= set(pipeline)
        for stage in pipeline["stages"]:
            metadata = stage["metadata"]
            assert metadata["isClosed"] in ("true", "false")
            assert 0.0 <= float(metadata["probability"]) <= 1.0
            assert isinstance(metadata["probability"], str)
            stages[stage["id"]] = (pipeline["id"], metadata["probability"])
    for deal in export.rows("hubspot/deals.csv"):
        assert stages[deal["dealstage"]] == (deal["pipeline"], deal["hs_deal_stage_probability"])


def test_associations_use_hubspot_defined_type_ids_and_resolve(export: Export) -> None:
    ids = {name: {r["id"] for r in export.rows(f"hubspot/{name}.csv")} for name in OBJECT_TYPES}
    seen: Counter[tuple[str, str]] = Counter()
    for row in export.rows("hubspot/associations.csv"):
        pair = (row["fromType"], row["toType"])
        assert int(row["typeId"]) == ASSOCIATION_TYPES[pair]
        assert row["fromId"] in ids[row["fromType"]]
        assert row["toId"] in ids[row["toType"]]
        seen[pair] += 1
    for engagement in ENGAGEMENTS:
        assert seen[(engagement, "deals")] and seen[(engagement, "contacts")]
    assert seen[("deals", "companies")] and seen[("deals", "contacts")]
    assert seen[("contacts", "companies")]
    assert (ASSOCIATION_TYPES[("emails", "deals")], ASSOCIATION_TYPES[("deals", "contacts")]) == (
        210,
        3,
    )


def test_some_engagements_are_linked_to_a_contact_or_company_only(export: Export) -> None:
    targets: dict[str, set[str]] = defaultdict(set)
    for row in export.rows("hubspot/associations.csv"):
        if row["fromType"] in ENGAGEMENTS:
            targets[row["fromId"]].add(row["toType"])
    kinds = Counter(frozenset(t) for t in targets.values())
    assert kinds[frozenset({"contacts", "companies"})] > 0
    assert kinds[frozenset({"companies"})] > 0
    assert kinds[frozenset({"deals", "contacts", "companies"})] > 0


def test_deal_history_is_oldest_first_and_ends_at_the_current_value(export: Export) -> None:
    history = export.rows("hubspot/property_history.csv")
    assert {h["property"] for h in history} == {"dealstage", "amount", "closedate"}
    assert {h["objectType"] for h in history} == {"deals"}
    last: dict[tuple[str, str], str] = {}
    stamps: dict[tuple[str, str], str] = {}
    for row in history:
        key = (row["id"], row["property"])
        assert row["timestamp"] >= stamps.get(key, "")
        stamps[key] = row["timestamp"]
        last[key] = row["value"]
    for deal in export.rows("hubspot/deals.csv"):
        assert last[(deal["id"], "dealstage")] == deal["dealstage"]
        assert last[(deal["id"], "amount")] == deal["amount"]
        assert last[(deal["id"], "closedate")] == deal["closedate"]


def test_owners_have_teams_and_contacts_have_lifecycle_stages(export: Export) -> None:
    owners = export.rows("hubspot/owners.csv")
    assert all(o["teams"] and o["email"] for o in owners)
    assert len({o["teams"] for o in owners}) >= 2
    stages = {c["lifecyclestage"] for c in export.rows("hubspot/contacts.csv")}
    assert {"lead", "opportunity", "customer"} <= stages


def test_future_associations_join_records_that_exist_by_the_horizon(export: Export) -> None:
    ids = {
        name: {
            r["id"]
            for folder in ("hubspot", "future/hubspot")
            for r in export.rows(f"{folder}/{name}.csv")
        }
        for name in OBJECT_TYPES
    }
    future = export.rows("future/hubspot/associations.csv")
    assert future
    for row in future:
        assert row["fromId"] in ids[row["fromType"]]
        assert row["toId"] in ids[row["toType"]]
