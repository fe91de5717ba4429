"""Bulk API 2.0 query jobs and Tooling API custom fields, through simple-salesforce."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.crm import Sandbox, SandboxServer
from tests.sandbox.crm.export_fixture import OPPS, TASK_COUNT


@pytest.fixture(scope="module")
def sf(server: SandboxServer) -> Salesforce:
    return Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )


def rows(pages: list[str]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for page in pages:
        out.extend(csv.DictReader(io.StringIO(page)))
    return out


def test_bulk_query_pages_csv_with_sforce_locator(sf: Salesforce, sandbox: Sandbox) -> None:
    before = sandbox.calls["salesforce.bulk_query_results"]
    pages = list(
        sf.bulk2.Task.query(
            "SELECT Id, Subject, Who.Name, IsDeleted, CreatedDate FROM Task",
            max_records=1000,
            wait=0,
        )
    )
    assert len(pages) == 3
    records = rows(pages)
    assert len(records) == TASK_COUNT - 1
    assert set(records[0]) == {"Id", "Subject", "Who.Name", "IsDeleted", "CreatedDate"}
    assert records[0]["IsDeleted"] == "false"
    assert records[0]["CreatedDate"].endswith(".000Z")
    assert sandbox.calls["salesforce.bulk_query_results"] == before + 3


def test_bulk_query_all_includes_deleted_rows(sf: Salesforce) -> None:
    records = rows(
        list(
            sf.bulk2.Task.query_all("SELECT Id, IsDeleted FROM Task WHERE IsDeleted = true", wait=0)
        )
    )
    assert len(records) == 1 and records[0]["IsDeleted"] == "true"


def test_bulk_job_lifecycle_and_csv_quoting(server: SandboxServer, sf: Salesforce) -> None:
    session = server.requests_session()
    headers = {"Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json"}
    base = f"{server.salesforce_url}/services/data/v59.0/jobs/query"
    job = session.post(
        base,
        json={
            "operation": "query",
            "query": "SELECT Id, Name, AnnualRevenue FROM Account ORDER BY Name",
        },
        headers=headers,
    ).json()
    assert job["state"] == "UploadComplete" and job["object"] == "Account"
    early = session.get(f"{base}/{job['id']}/results", headers=headers)
    assert early.status_code == 400
    states = [session.get(f"{base}/{job['id']}", headers=headers).json()["state"] for _ in range(2)]
    assert states == ["InProgress", "JobComplete"]
    result = session.get(f"{base}/{job['id']}/results", headers=headers)
    assert result.headers["Sforce-Locator"] == "null"
    assert result.headers["Sforce-NumberOfRecords"] == "3"
    lines = result.text.splitlines()
    assert lines[0] == '"Id","Name","AnnualRevenue"'
    assert lines[1].endswith(',"Acme Corp","1000000"')
    assert lines[2].endswith(',"Globex",')  # null is an empty, unquoted cell
    assert session.delete(f"{base}/{job['id']}", headers=headers).status_code == 204
    assert session.get(f"{base}/{job['id']}", headers=headers).status_code == 404


def test_bulk_jobs_refuse_bad_queries_at_creation(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        list(sf.bulk2.Task.query("SELECT Nope FROM Task", wait=0))
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_custom_fields_from_the_tooling_api_become_writable_and_described(sf: Salesforce) -> None:
    created = sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={
            "FullName": "Opportunity.Milestone__c",
            "Metadata": {"label": "Milestone", "type": "Text", "length": 80},
        },
    )
    assert created["success"] is True and created["id"].startswith("00N")
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert fields["Milestone__c"]["custom"] is True and fields["Milestone__c"]["type"] == "string"
    assert fields["Milestone__c"]["length"] == 80
    result = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Opportunity"}, "id": OPPS[0], "Milestone__c": "Demo held"}
            ],
        },
    )
    assert result[0]["success"] is True
    opp = sf.query("SELECT Milestone__c FROM Opportunity WHERE Milestone__c != null")["records"]
    assert [o["Milestone__c"] for o in opp] == ["Demo held"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.toolingexecute(
            "sobjects/CustomField",
            method="POST",
            data={
                "FullName": "Opportunity.Milestone__c",
                "Metadata": {"label": "Milestone", "type": "Text"},
            },
        )
    assert caught.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    number = sf.restful(
        "tooling/sobjects/CustomField",
        method="POST",
        json={
            "FullName": "Opportunity.Progress_Value__c",
            "Metadata": {"label": "Progress", "type": "Currency", "precision": 18, "scale": 2},
        },
    )
    assert number["success"] is True
    sf.Opportunity.update(OPPS[0], {"Progress_Value__c": 1250.5})
    assert sf.Opportunity.get(OPPS[0])["Progress_Value__c"] == 1250.5
