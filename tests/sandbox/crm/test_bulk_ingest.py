"""Bulk API 2.0 ingest (update) jobs, through simple-salesforce's bulk2 and raw HTTP: the job
states, CSV results with sf__Id / sf__Created / sf__Error, per-record errors, and whole-job
failures, saved exactly as sObject Collections saves."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

from sandbox.crm import Sandbox, SandboxServer
from sandbox.crm.faults import Fault
from tests.sandbox.crm.export_fixture import OPPS


@pytest.fixture(scope="module")
def sf(server: SandboxServer) -> Salesforce:
    return Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )


@pytest.fixture(autouse=True)
def no_faults(sandbox: Sandbox) -> Iterator[None]:
    sandbox.faults.clear()
    yield
    sandbox.faults.clear()


class Jobs:
    """The ingest resource over plain HTTP, to see every status and header."""

    def __init__(self, server: SandboxServer, sf: Salesforce) -> None:
        self.session = server.requests_session()
        self.base = f"{server.salesforce_url}/services/data/v59.0/jobs/ingest"
        self.auth = {"Authorization": f"Bearer {sf.session_id}"}

    def create(self, **body: str) -> requests.Response:
        payload = {"object": "Opportunity", "operation": "update", "contentType": "CSV", **body}
        return self.session.post(self.base, json=payload, headers=self.auth)

    def upload(self, job_id: str, data: str, kind: str = "text/csv") -> requests.Response:
        headers = {**self.auth, "Content-Type": kind}
        return self.session.put(f"{self.base}/{job_id}/batches", data=data, headers=headers)

    def state(self, job_id: str, state: str) -> requests.Response:
        return self.session.patch(f"{self.base}/{job_id}", json={"state": state}, headers=self.auth)

    def info(self, job_id: str) -> requests.Response:
        return self.session.get(f"{self.base}/{job_id}", headers=self.auth)

    def results(self, job_id: str, kind: str) -> requests.Response:
        return self.session.get(f"{self.base}/{job_id}/{kind}/", headers=self.auth)

    def delete(self, job_id: str) -> requests.Response:
        return self.session.delete(f"{self.base}/{job_id}", headers=self.auth)


@pytest.fixture
def jobs(server: SandboxServer, sf: Salesforce) -> Jobs:
    return Jobs(server, sf)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _opportunity(sandbox: Sandbox, record_id: str) -> dict[str, object]:
    found = sandbox.salesforce.get(record_id)
    assert found is not None
    return found[1]


def test_simple_salesforce_updates_records_through_an_ingest_job(
    sf: Salesforce, sandbox: Sandbox
) -> None:
    before = _opportunity(sandbox, OPPS[0])["SystemModstamp"]
    sandbox.clock.advance(timedelta(minutes=1))
    result = sf.bulk2.Opportunity.update(
        records=[
            {"Id": OPPS[0], "Name": "Send the proposal", "Amount": "2500"},
            {"Id": OPPS[1], "Probability": "#N/A", "Amount": ""},
        ],
        wait=0,
    )
    assert [(r["numberRecordsProcessed"], r["numberRecordsFailed"]) for r in result] == [(2, 0)]
    first, second = _opportunity(sandbox, OPPS[0]), _opportunity(sandbox, OPPS[1])
    assert (first["Name"], first["Amount"]) == ("Send the proposal", 2500.0)
    assert str(first["SystemModstamp"]) > str(before)  # saved as the REST API saves
    assert second["Probability"] is None  # #N/A clears a field
    assert second["Amount"] is not None  # an empty cell leaves it as it was
    succeeded = _rows(sf.bulk2.Opportunity.get_successful_records(result[0]["job_id"]))
    assert sorted(r["sf__Id"] for r in succeeded) == sorted(OPPS[:2])
    assert {r["sf__Created"] for r in succeeded} == {"false"}
    assert {r["Id"] for r in succeeded} == set(OPPS[:2])  # the uploaded columns follow


def test_job_states_move_as_salesforce_moves_them(jobs: Jobs, sandbox: Sandbox) -> None:
    created = jobs.create(lineEnding="LF")
    assert created.status_code == 200
    job = created.json()
    assert (job["state"], job["object"], job["operation"]) == ("Open", "Opportunity", "update")
    assert job["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job['id']}/batches"
    job_id = job["id"]

    assert jobs.results(job_id, "successfulResults").status_code == 409  # not done yet
    assert jobs.state(job_id, "JobComplete").status_code == 400  # not a state to set
    assert jobs.upload(job_id, "Id\n", kind="application/json").status_code == 400
    data = f"Id,Name\n{OPPS[2]},Call back\n{OPPS[3]},Demo\n"
    assert jobs.upload(job_id, data).status_code == 201
    again = jobs.upload(job_id, data)
    assert again.status_code == 409 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert jobs.delete(job_id).status_code == 409  # open: abort or close it first

    assert jobs.state(job_id, "UploadComplete").json()["state"] == "UploadComplete"
    assert jobs.state(job_id, "UploadComplete").status_code == 409
    assert jobs.upload(job_id, data).status_code == 409
    polls = [jobs.info(job_id).json() for _ in range(2)]
    assert [p["state"] for p in polls] == ["InProgress", "JobComplete"]
    done = polls[-1]
    assert (done["jobType"], done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (
        "V2Ingest",
        2,
        0,
    )
    assert _opportunity(sandbox, OPPS[3])["Name"] == "Demo"
    assert jobs.state(job_id, "Aborted").status_code == 409  # complete: too late
    lines = jobs.results(job_id, "successfulResults").text.splitlines()
    assert lines[0] == '"sf__Id","sf__Created","Id","Name"'
    assert jobs.results(job_id, "failedResults").text.splitlines() == [
        '"sf__Id","sf__Error","Id","Name"'
    ]
    assert jobs.results(job_id, "unprocessedrecords").text.splitlines() == ['"Id","Name"']
    assert jobs.delete(job_id).status_code == 204
    assert jobs.info(job_id).status_code == 404


def test_records_fail_alone_with_the_error_a_collection_would_give(
    jobs: Jobs, sf: Salesforce, sandbox: Sandbox
) -> None:
    deleted = OPPS[4]
    sandbox.salesforce.delete(deleted, sandbox.now())
    sandbox.faults.add(
        Fault(
            "record_error", api="salesforce", ids=[OPPS[2]], code="UNABLE_TO_LOCK_ROW", times=None
        )
    )
    data = (
        "Id,Name,Amount\n"
        f"{OPPS[1]},Fine,10\n"
        f"{deleted},Gone,10\n"
        f"{OPPS[2]},Locked,10\n"
        f"{OPPS[3]},Bad number,ten\n"
    )
    job_id = jobs.create().json()["id"]
    jobs.upload(job_id, data)
    jobs.state(job_id, "UploadComplete")
    info = [jobs.info(job_id).json() for _ in range(2)][-1]
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        4,
        3,
    )
    failed = {r["Id"]: r for r in _rows(jobs.results(job_id, "failedResults").text)}
    assert failed[deleted]["sf__Error"] == "ENTITY_IS_DELETED:entity is deleted: --"
    assert failed[OPPS[2]]["sf__Error"] == (
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record: --"
    )
    assert failed[OPPS[3]]["sf__Error"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")
    assert failed[OPPS[3]]["sf__Error"].endswith(":Amount --")
    assert failed[OPPS[2]]["sf__Id"] == OPPS[2] and failed[OPPS[2]]["Name"] == "Locked"
    assert [r["sf__Id"] for r in _rows(jobs.results(job_id, "successfulResults").text)] == [OPPS[1]]
    assert _opportunity(sandbox, OPPS[2])["Name"] != "Locked"

    collection = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [{"attributes": {"type": "Opportunity"}, "id": OPPS[2], "Name": "X"}],
        },
    )
    assert collection[0]["errors"] == [
        {
            "statusCode": "UNABLE_TO_LOCK_ROW",
            "message": "unable to obtain exclusive access to this record",
            "fields": [],
        }
    ]


def test_an_unknown_column_fails_the_whole_job_and_changes_nothing(
    sf: Salesforce, jobs: Jobs, sandbox: Sandbox
) -> None:
    before = _opportunity(sandbox, OPPS[1])["Name"]
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Opportunity.update(
            records=[{"Id": OPPS[1], "Name": "Never", "Nope__c": "1"}], wait=0
        )
    assert _opportunity(sandbox, OPPS[1])["Name"] == before
    listed = jobs.session.get(jobs.base, headers=jobs.auth).json()["records"]
    job_id = listed[-1]["id"]
    info = jobs.info(job_id).json()
    assert (info["state"], info["numberRecordsProcessed"]) == ("Failed", 0)
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"
    unprocessed = _rows(jobs.results(job_id, "unprocessedrecords").text)
    assert [r["Id"] for r in unprocessed] == [OPPS[1]]


def test_an_aborted_job_leaves_its_rows_unprocessed(jobs: Jobs, sandbox: Sandbox) -> None:
    before = _opportunity(sandbox, OPPS[0])["Name"]
    job_id = jobs.create().json()["id"]
    jobs.upload(job_id, f"Id,Name\n{OPPS[0]},Aborted\n")
    jobs.state(job_id, "UploadComplete")
    assert jobs.state(job_id, "Aborted").json()["state"] == "Aborted"
    assert jobs.state(job_id, "Aborted").status_code == 409
    assert jobs.info(job_id).json()["state"] == "Aborted"  # never runs
    assert _rows(jobs.results(job_id, "unprocessedrecords").text) == [
        {"Id": OPPS[0], "Name": "Aborted"}
    ]
    assert _opportunity(sandbox, OPPS[0])["Name"] == before
    assert jobs.delete(job_id).status_code == 204


def test_jobs_for_unknown_objects_or_other_operations_are_refused(jobs: Jobs) -> None:
    unknown = jobs.create(object="Nope")
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALIDJOB"
    assert jobs.create(operation="explode").status_code == 400
    assert jobs.create(contentType="JSON").status_code == 400
