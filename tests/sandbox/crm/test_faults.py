"""Faults and limits answer as the real APIs do; switched per test or over the admin endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput
from hubspot.crm.objects.exceptions import ApiException
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.faults import Fault, parse_fault


@pytest.fixture(scope="module")
def sandbox(export_dir: Path) -> Sandbox:
    config = SandboxConfig(hs_ten_second_max=1000, hs_search_per_second=None)
    return Sandbox.from_export(export_dir, config)


@pytest.fixture(autouse=True)
def no_faults(sandbox: Sandbox) -> None:
    sandbox.faults.clear()


@pytest.fixture
def sf(server: SandboxServer) -> Salesforce:
    return Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )


@pytest.fixture(scope="module")
def hs(server: SandboxServer, sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=sandbox.config.hs_access_token, host=server.hubspot_url)


def test_salesforce_rate_limit_fault_is_request_limit_exceeded_with_retry_after(
    sf: Salesforce, sandbox: Sandbox
) -> None:
    sandbox.faults.add(Fault("rate_limit", api="salesforce", retry_after=2))
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Account")
    assert caught.value.status == 403
    assert caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 3  # times=1 by default


def test_retry_after_header_is_sent(server: SandboxServer, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("unavailable", api="salesforce", retry_after=3))
    answer = server.requests_session().get(
        f"{server.salesforce_url}/services/data/v59.0/limits",
        headers={"Authorization": f"Bearer {server.access_token()}"},
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "3"
    assert answer.json() == [
        {"message": "Server is temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}
    ]


def test_daily_api_limit_runs_out(sf: Salesforce, sandbox: Sandbox) -> None:
    saved = sandbox.config.sf_daily_api_max
    sandbox.config.sf_daily_api_max = sandbox.sf_api_used + 1
    try:
        sf.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest) as caught:
            sf.query("SELECT Id FROM Account")
        assert caught.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
    finally:
        sandbox.config.sf_daily_api_max = saved


def test_server_errors_in_each_apis_shape(sf: Salesforce, hs: HubSpot, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("server_error", api="salesforce"))
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM Account")
    assert (
        caught.value.status == 500 and caught.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    )
    sandbox.faults.add(Fault("unavailable", api="hubspot", retry_after=None))
    with pytest.raises(ApiException) as hs_caught:
        hs.crm.objects.basic_api.get_page("deals")
    assert hs_caught.value.status == 503


def test_session_expiry_in_the_middle_of_a_paginated_query(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    session = server.requests_session()
    cfg = sandbox.config
    form = {
        "grant_type": "client_credentials",
        "client_id": cfg.sf_client_id,
        "client_secret": cfg.sf_client_secret,
    }
    sf = Salesforce(
        instance_url=server.salesforce_url,
        session_id=session.post(server.token_url, data=form).json()["access_token"],
        session=session,
    )
    sandbox.faults.add(Fault("expire_session", api="salesforce", path="/query/01g"))
    first = sf.query("SELECT Id FROM Task")
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    # the connector logs in again and resumes from the same locator
    sf = Salesforce(
        instance_url=server.salesforce_url,
        session_id=session.post(server.token_url, data=form).json()["access_token"],
        session=session,
    )
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(first["records"]) + len(rest["records"]) == first["totalSize"]


def test_hubspot_ten_second_window_answers_429_with_hubspots_body(
    hs: HubSpot, sandbox: Sandbox
) -> None:
    sandbox.hs_window.reset()
    sandbox.hs_window.limit = 3
    try:
        for _ in range(3):
            hs.crm.objects.basic_api.get_page("deals", limit=1)
        with pytest.raises(ApiException) as caught:
            hs.crm.objects.basic_api.get_page("deals", limit=1)
        assert caught.value.status == 429
        import json

        body = json.loads(caught.value.body)
        assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["status"] == "error" and body["correlationId"]
        assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    finally:
        sandbox.hs_window.limit = sandbox.config.hs_ten_second_max
        sandbox.hs_window.reset()


def test_hubspot_search_is_limited_per_second_when_configured(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    from sandbox.crm.accounting import RollingWindow

    sandbox.hs_search_window = RollingWindow(2, 1.0)
    headers = {"Authorization": f"Bearer {sandbox.config.hs_access_token}"}
    try:
        codes = [
            requests.post(
                f"{server.hubspot_url}/crm/v3/objects/deals/search",
                json={},
                headers=headers,
                timeout=5,
            ).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
    finally:
        sandbox.hs_search_window = None


def test_slow_responses(sf: Salesforce, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("slow", api="salesforce", delay=0.3))
    started = time.monotonic()
    sf.query("SELECT Id FROM Account")
    assert time.monotonic() - started >= 0.3


def test_connection_resets(server: SandboxServer, sandbox: Sandbox, hs: HubSpot) -> None:
    sandbox.faults.add(Fault("reset", api="hubspot", path="/crm/v3/objects/deals"))
    headers = {"Authorization": f"Bearer {sandbox.config.hs_access_token}"}
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.hubspot_url}/crm/v3/objects/deals", headers=headers, timeout=5)
    assert (
        requests.get(
            f"{server.hubspot_url}/crm/v3/objects/deals", headers=headers, timeout=5
        ).status_code
        == 200
    )
    sandbox.faults.add(Fault("reset", api="salesforce"))
    with pytest.raises(requests.ConnectionError):
        server.requests_session().get(f"{server.salesforce_url}/services/data")


def test_hubspot_client_retries_a_fault_that_carries_retry_after(
    hs: HubSpot, sandbox: Sandbox
) -> None:
    fault = sandbox.faults.add(Fault("rate_limit", api="hubspot", retry_after=0))
    assert hs.crm.objects.basic_api.get_page("deals", limit=1).results
    assert fault.fired == 1 and fault.seen == 2


def test_faults_fire_after_every_and_times() -> None:
    fault = parse_fault("rate_limit:api=hubspot,after=2,every=2,times=2")
    fired = [fault.fire() for _ in range(10)]
    assert fired == [False, False, True, False, True, False, False, False, False, False]
    with pytest.raises(ValueError):
        parse_fault("meltdown")


def test_admin_endpoint_switches_faults_and_reads_counters(
    server: SandboxServer, sandbox: Sandbox, hs: HubSpot
) -> None:
    admin = f"{server.hubspot_url}/__sandbox"
    added = requests.post(
        f"{admin}/faults",
        json={"spec": "rate_limit:api=hubspot,path=/crm/v3/owners,retry_after=none"},
        timeout=5,
    )
    assert added.status_code == 201
    with pytest.raises(Exception) as caught:
        hs.crm.owners.owners_api.get_page()
    assert getattr(caught.value, "status", None) == 429
    assert requests.get(f"{admin}/faults", timeout=5).json()[0]["fired"] == 1
    assert requests.delete(f"{admin}/faults", timeout=5).status_code == 204
    assert sandbox.faults.active() == []
    calls = requests.get(f"{admin}/calls", timeout=5).json()["calls"]
    assert calls["hubspot.owners_list"] >= 1
    assert sandbox.calls["hubspot.owners_list"] == calls["hubspot.owners_list"]


def test_record_error_faults_parse_and_never_fail_a_whole_request() -> None:
    fault = parse_fault("record_error:api=hubspot,code=CONFLICT,ids=401|402,times=none")
    assert (fault.kind, fault.api, fault.code, fault.ids, fault.times) == (
        "record_error",
        "hubspot",
        "CONFLICT",
        ["401", "402"],
        None,
    )
    assert fault.record_message == "The object was modified by another request; try again"
    with pytest.raises(ValueError, match="record_error and invalid_value faults only"):
        Fault("server_error", ids=["401"])


def test_hubspot_record_errors_fail_named_objects_in_a_207_and_write_the_rest(
    hs: HubSpot, sandbox: Sandbox
) -> None:
    sandbox.faults.add(
        Fault("record_error", api="hubspot", ids=["401"], code="CONFLICT", times=None)
    )
    inputs = [
        SimplePublicObjectBatchInput(id=deal_id, properties={"amount": "4321"})
        for deal_id in ("400", "401", "402")
    ]
    answer = hs.crm.objects.batch_api.update(
        "deals", BatchInputSimplePublicObjectBatchInput(inputs=inputs)
    )
    assert sorted(r.id for r in answer.results) == ["400", "402"]
    assert answer.num_errors == 1
    error = answer.errors[0]
    assert (error.category, error.context) == ("CONFLICT", {"ids": ["401"]})
    assert sandbox.hubspot.objects["deals"]["401"].properties.get("amount") != "4321"
    assert sandbox.hubspot.objects["deals"]["402"].properties["amount"] == "4321"


def test_hubspot_refuses_a_whole_batch_for_one_value_that_is_not_a_number(
    hs: HubSpot, sandbox: Sandbox
) -> None:
    from hubspot.crm.objects import (
        BatchInputSimplePublicObjectBatchInput,
        SimplePublicObjectBatchInput,
    )

    inputs = [
        SimplePublicObjectBatchInput(id="400", properties={"amount": "777"}),
        SimplePublicObjectBatchInput(id="402", properties={"amount": "seven"}),
    ]
    with pytest.raises(ApiException) as caught:
        hs.crm.objects.batch_api.update(
            "deals", BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        )
    assert caught.value.status == 400
    assert '"category":"VALIDATION_ERROR"' in str(caught.value.body).replace(" ", "")
    assert "seven was not a valid number." in str(caught.value.body)
    assert sandbox.hubspot.objects["deals"]["400"].properties.get("amount") != "777"
