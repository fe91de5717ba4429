"""Records created and deleted through the APIs, as incremental and delete-aware syncs see them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hubspot import HubSpot
from hubspot.crm.objects import SimplePublicObjectInputForCreate
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sandbox.crm import Sandbox, SandboxServer


@pytest.fixture(scope="module")
def sf(server: SandboxServer) -> Salesforce:
    return Salesforce(
        instance_url=server.salesforce_url,
        session_id=server.access_token(),
        session=server.requests_session(),
    )


def test_salesforce_create_then_delete(sf: Salesforce, sandbox: Sandbox) -> None:
    created = sf.Opportunity.create(
        {"Name": "Fresh deal", "StageName": "Proposal", "CloseDate": "2025-05-01", "Amount": 1234}
    )
    assert created["success"] is True and created["id"].startswith("006")
    row = sf.query(
        "SELECT Name, IsClosed, Probability, Owner.Name FROM Opportunity "
        f"WHERE Id = '{created['id']}'"
    )["records"][0]
    assert (row["Name"], row["IsClosed"], row["Probability"]) == ("Fresh deal", False, 60.0)
    history = sf.query(
        f"SELECT StageName FROM OpportunityHistory WHERE OpportunityId = '{created['id']}'"
    )
    assert history["totalSize"] == 1

    sandbox.advance(seconds=5)
    assert sf.Opportunity.delete(created["id"]) == 204
    assert (
        sf.query(f"SELECT COUNT() FROM Opportunity WHERE Id = '{created['id']}'")["totalSize"] == 0
    )
    gone = sf.query_all(
        f"SELECT Id, IsDeleted FROM Opportunity WHERE Id = '{created['id']}'", include_deleted=True
    )
    assert gone["records"][0]["IsDeleted"] is True
    deleted = sf.Opportunity.deleted(sandbox.now() - timedelta(minutes=1), sandbox.now())
    assert created["id"] in [d["id"] for d in deleted["deletedRecords"]]
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Opportunity.delete(created["id"])
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_salesforce_create_checks_required_fields(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.create({"Name": "No stage"})
    assert caught.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_hubspot_create_with_associations_then_archive(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    hs = HubSpot(access_token=sandbox.config.hs_access_token, host=server.hubspot_url)
    api = hs.crm.objects.basic_api
    request = SimplePublicObjectInputForCreate(
        properties={
            "hs_timestamp": "1740830400000",
            "hs_email_direction": "INCOMING_EMAIL",
            "hs_email_subject": "Yes, let's meet",
        },
        associations=[
            {
                "to": {"id": "400"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 210}],
            }
        ],
    )
    created = api.create("emails", request)
    assert created.properties["hs_timestamp"] == "2025-03-01T12:00:00.000Z"
    read = api.get_by_id("emails", created.id, associations=["deals"])
    assert read.associations["deals"].results[0].id == "400"
    api.archive("emails", created.id)
    assert created.id not in {e.id for e in api.get_page("emails", limit=100, after="590").results}
    assert created.id in {e.id for e in api.get_page("emails", archived=True, limit=100).results}
