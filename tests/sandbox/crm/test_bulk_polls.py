"""Bulk API 2.0 jobs take longer the more records they hold: InProgress for one poll plus one
per `sf_bulk_records_per_poll` records, then done; simple-salesforce's own polling sees them
through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.sandbox.crm.export_fixture import OPPS

PER_POLL = 1000


@pytest.fixture(scope="module")
def sandbox(export_dir: Path) -> Sandbox:
    config = SandboxConfig(hs_search_per_second=None, sf_bulk_records_per_poll=PER_POLL)
    return Sandbox.from_export(export_dir, config)


@pytest.fixture(scope="module")
def server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture(scope="module")
def sf(server: SandboxServer) -> Salesforce:
    return Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )


def _polls_until_done(session: requests.Session, url: str, headers: dict[str, str]) -> list[str]:
    states: list[str] = []
    while not states or states[-1] == "InProgress":
        states.append(session.get(url, headers=headers).json()["state"])
        assert len(states) < 50
    return states


def _query_job_states(server: SandboxServer, sf: Salesforce, soql: str) -> list[str]:
    session = server.requests_session()
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    base = f"{server.salesforce_url}/services/data/v59.0/jobs/query"
    job = session.post(base, json={"operation": "query", "query": soql}, headers=headers).json()
    return _polls_until_done(session, f"{base}/{job['id']}", headers)


def test_a_small_query_job_is_done_after_one_in_progress_poll(
    server: SandboxServer, sf: Salesforce
) -> None:
    assert _query_job_states(server, sf, "SELECT Id FROM Account") == ["InProgress", "JobComplete"]


def test_a_large_query_job_needs_a_poll_more_per_block_of_records(
    server: SandboxServer, sf: Salesforce
) -> None:
    served = sf.query("SELECT COUNT() FROM Task")["totalSize"]
    states = _query_job_states(server, sf, "SELECT Id FROM Task")
    assert states == ["InProgress"] * (1 + served // PER_POLL) + ["JobComplete"]


def test_simple_salesforce_polls_a_large_query_job_to_its_end(sf: Salesforce) -> None:
    pages = list(sf.bulk2.Task.query("SELECT Id FROM Task", max_records=50_000, wait=0))
    served = sf.query("SELECT COUNT() FROM Task")["totalSize"]
    assert sum(len(page.splitlines()) - 1 for page in pages) == served > PER_POLL


def test_an_ingest_job_needs_a_poll_more_per_block_of_records(
    server: SandboxServer, sf: Salesforce
) -> None:
    session = server.requests_session()
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    base = f"{server.salesforce_url}/services/data/v59.0/jobs/ingest"
    job = session.post(
        base, json={"object": "Opportunity", "operation": "update"}, headers=headers
    ).json()
    rows = [f"{OPPS[n % len(OPPS)]},Bulk {n}" for n in range(2 * PER_POLL)]
    upload = session.put(
        f"{base}/{job['id']}/batches",
        data="Id,Name\n" + "\n".join(rows) + "\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    closed = session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers)
    assert closed.status_code == 200
    states = _polls_until_done(session, f"{base}/{job['id']}", headers)
    assert states == ["InProgress"] * 3 + ["JobComplete"]
