"""The Salesforce REST subset, driven by the unmodified simple-salesforce over HTTPS on loopback."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from sandbox.crm import Sandbox, SandboxServer
from tests.sandbox.crm.export_fixture import ACCOUNTS, OPPS, TASK_COUNT


@pytest.fixture(scope="module")
def sf(server: SandboxServer) -> Salesforce:
    return Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
        version="59.0",
    )


def token(server: SandboxServer, **form: str) -> requests.Response:
    return server.requests_session().post(server.token_url, data=form)


# OAuth and sessions -------------------------------------------------------------------------
def test_client_credentials_grant_returns_a_bearer_token_and_the_instance_url(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    cfg = sandbox.config
    answer = token(
        server,
        grant_type="client_credentials",
        client_id=cfg.sf_client_id,
        client_secret=cfg.sf_client_secret,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["instance_url"] == server.salesforce_url
    assert body["token_type"] == "Bearer"
    sf = Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=server.requests_session(),
    )
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 3


def test_refresh_token_and_password_grants(server: SandboxServer, sandbox: Sandbox) -> None:
    cfg = sandbox.config
    refreshed = token(
        server,
        grant_type="refresh_token",
        refresh_token=cfg.sf_refresh_token,
        client_id=cfg.sf_client_id,
    )
    assert refreshed.status_code == 200 and refreshed.json()["access_token"]
    password = token(
        server,
        grant_type="password",
        client_id=cfg.sf_client_id,
        client_secret=cfg.sf_client_secret,
        username=cfg.sf_username,
        password=cfg.sf_password,
    )
    assert password.status_code == 200


def test_jwt_bearer_grant_checks_the_signature_when_a_key_is_configured(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sandbox.config.sf_jwt_public_key_pem = public.decode()
    claims = {
        "iss": sandbox.config.sf_client_id,
        "sub": sandbox.config.sf_username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    try:
        good = jwt.encode(claims, key, algorithm="RS256")
        answer = token(
            server, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=good
        )
        assert answer.status_code == 200
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other, algorithm="RS256")
        refused = token(
            server, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=forged
        )
        assert refused.status_code == 400
        assert refused.json() == {
            "error": "invalid_grant",
            "error_description": "invalid assertion",
        }
    finally:
        sandbox.config.sf_jwt_public_key_pem = None


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
            "invalid_client_id",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "sandbox-client-id",
                "client_secret": "x",
            },
            "invalid_client",
        ),
        (
            {
                "grant_type": "refresh_token",
                "client_id": "sandbox-client-id",
                "refresh_token": "stale",
            },
            "invalid_grant",
        ),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_bad_grants_are_refused_with_oauth_errors(
    server: SandboxServer, form: dict[str, str], error: str
) -> None:
    answer = token(server, **form)
    assert answer.status_code == 400
    assert answer.json()["error"] == error


def test_a_bad_token_gets_401_invalid_session_id(server: SandboxServer) -> None:
    sf = Salesforce(
        instance_url=server.salesforce_url,
        session_id="00Dbogus!token",
        session=server.requests_session(),
    )
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM Account")
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


# queries ------------------------------------------------------------------------------------
def test_query_pages_at_2000_with_next_records_url(sf: Salesforce, sandbox: Sandbox) -> None:
    first = sf.query("SELECT Id, Subject FROM Task ORDER BY CreatedDate")
    assert first["totalSize"] == TASK_COUNT - 1
    assert len(first["records"]) == 2000 and first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == TASK_COUNT - 1 - 2000 and second["done"] is True
    assert "nextRecordsUrl" not in second


def test_query_all_iter_walks_every_page_and_counts_the_calls(
    sf: Salesforce, sandbox: Sandbox
) -> None:
    before_query, before_more = (
        sandbox.calls["salesforce.query_all"],
        sandbox.calls["salesforce.query_all_more"],
    )
    rows = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Task", include_deleted=True))
    assert len(rows) == TASK_COUNT
    assert sum(r["IsDeleted"] for r in rows) == 1
    assert sandbox.calls["salesforce.query_all"] == before_query + 1
    assert sandbox.calls["salesforce.query_all_more"] == before_more + 1


def test_batch_size_option_shrinks_pages(sf: Salesforce) -> None:
    headers = {"Sforce-Query-Options": "batchSize=500"}
    first = sf.query("SELECT Id FROM Task", headers=headers)
    assert len(first["records"]) == 500
    assert first["nextRecordsUrl"].endswith("-500")
    tiny = sf.query("SELECT Id FROM Task", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200  # the minimum Salesforce honours


def test_every_response_carries_sforce_limit_info(
    sf: Salesforce, server: SandboxServer, sandbox: Sandbox
) -> None:
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].total == sandbox.config.sf_daily_api_max
    assert sf.api_usage["api-usage"].used == sandbox.sf_api_used
    refused = server.requests_session().get(
        f"{server.salesforce_url}/services/data/v59.0/query", params={"q": "x"}
    )
    assert refused.status_code == 401
    assert refused.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_malformed_queries_are_400s_with_salesforce_bodies(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Account WHERE")
    [error] = caught.value.content
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith("unexpected token: '<EOF>'")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("01gBOGUS-2000")
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_idle_query_locators_expire(sf: Salesforce, server: SandboxServer) -> None:
    first = sf.query("SELECT Id FROM Task")
    cursors = server.salesforce_app.state.cursors
    cursors.idle_seconds = 0.0
    try:
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    finally:
        cursors.idle_seconds = 900.0


def test_limits_and_describe(sf: Salesforce) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] > 0
    describe = sf.Opportunity.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["Amount"]["type"] == "currency"
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["IsWon"]["updateable"] is False
    email_fields = {f["name"]: f for f in sf.EmailMessage.describe()["fields"]}
    assert email_fields["RelatedToId"]["referenceTo"] == ["Opportunity", "Account"]
    assert "Opportunity" in {o["name"] for o in sf.describe()["sobjects"]}
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Widget__c/describe")


def test_unknown_versions_are_not_found(server: SandboxServer) -> None:
    old = Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
        version="7.0",
    )
    with pytest.raises(SalesforceResourceNotFound):
        old.query("SELECT Id FROM Account")


# writes -----------------------------------------------------------------------------------
def collection(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    return sf.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": all_or_none, "records": records}
    )


def test_collection_updates_write_and_bump_system_modstamp(
    sf: Salesforce, sandbox: Sandbox
) -> None:
    before = sf.query(f"SELECT SystemModstamp FROM Account WHERE Id = '{ACCOUNTS[1]}'")["records"][
        0
    ]
    sandbox.advance(minutes=5)
    result = collection(
        sf, [{"attributes": {"type": "Account"}, "id": ACCOUNTS[1], "Industry": "Utilities"}]
    )
    assert result == [{"id": ACCOUNTS[1], "success": True, "errors": []}]
    after = sf.query(f"SELECT Industry, SystemModstamp FROM Account WHERE Id = '{ACCOUNTS[1]}'")[
        "records"
    ][0]
    assert after["Industry"] == "Utilities"
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["SystemModstamp"] == sandbox.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_collection_answers_one_result_per_record_in_order(
    sf: Salesforce, sandbox: Sandbox
) -> None:
    sandbox.add_validation_rule(
        "Account", "Name must not be blank", lambda row: not row.get("Name"), error_field="Name"
    )
    records = [
        {"attributes": {"type": "Account"}, "id": ACCOUNTS[0], "Industry": "Chemicals"},
        {"attributes": {"type": "Opportunity"}, "id": OPPS[4], "Name": "Lost and deleted"},
        {"attributes": {"type": "Account"}, "id": ACCOUNTS[2], "Bogus__c": 1},
        {"attributes": {"type": "Account"}, "id": ACCOUNTS[2], "Name": ""},
        {"attributes": {"type": "Opportunity"}, "id": OPPS[0], "IsWon": True},
        {"attributes": {"type": "Account"}, "id": "001nope", "Name": "x"},
    ]
    results = collection(sf, records)
    assert results[0] == {"id": ACCOUNTS[0], "success": True, "errors": []}
    codes = [r["errors"][0]["statusCode"] for r in results[1:]]
    assert codes == [
        "ENTITY_IS_DELETED",
        "INVALID_FIELD",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "MALFORMED_ID",
    ]
    assert results[3]["errors"][0] == {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Name must not be blank",
        "fields": ["Name"],
    }
    assert all("id" not in r for r in results[1:])


def test_all_or_none_rolls_everything_back(sf: Salesforce) -> None:
    records = [
        {"attributes": {"type": "Account"}, "id": ACCOUNTS[0], "Industry": "Never written"},
        {"attributes": {"type": "Account"}, "id": ACCOUNTS[0], "Nope__c": "x"},
    ]
    results = collection(sf, records, all_or_none=True)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    industry = sf.query(f"SELECT Industry FROM Account WHERE Id = '{ACCOUNTS[0]}'")["records"][0][
        "Industry"
    ]
    assert industry != "Never written"


def test_oversize_and_malformed_collections_are_refused(sf: Salesforce) -> None:
    records = [{"attributes": {"type": "Account"}, "id": ACCOUNTS[0], "Industry": "x"}] * 201
    with pytest.raises(SalesforceMalformedRequest) as caught:
        collection(sf, records)
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        collection(sf, [{"id": ACCOUNTS[0], "Industry": "x"}])
    assert caught.value.content[0]["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        collection(
            sf, [{"attributes": {"type": "Account"}, "id": ACCOUNTS[0], "AnnualRevenue": "lots"}]
        )
    assert caught.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_a_stage_change_derives_closed_won_and_writes_history(sf: Salesforce) -> None:
    before = sf.query(f"SELECT COUNT() FROM OpportunityHistory WHERE OpportunityId = '{OPPS[1]}'")[
        "totalSize"
    ]
    sf.Opportunity.update(OPPS[1], {"StageName": "Closed Won"})
    opp = sf.query(
        "SELECT StageName, IsClosed, IsWon, Probability, ForecastCategoryName FROM Opportunity "
        f"WHERE Id = '{OPPS[1]}'"
    )["records"][0]
    assert (opp["IsClosed"], opp["IsWon"], opp["Probability"], opp["ForecastCategoryName"]) == (
        True,
        True,
        100.0,
        "Closed",
    )
    history = sf.query(
        f"SELECT StageName, Amount FROM OpportunityHistory WHERE OpportunityId = '{OPPS[1]}' "
        "ORDER BY CreatedDate DESC"
    )
    assert history["totalSize"] == before + 1
    assert history["records"][0]["StageName"] == "Closed Won"


def test_record_read_by_id(sf: Salesforce) -> None:
    account = sf.Account.get(ACCOUNTS[0])
    assert account["Name"] == "Acme Corp"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("001000000000000AAA")
