"""The HubSpot CRM v3/v4 subset, driven by the unmodified hubspot-api-client over loopback HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
)
from hubspot.crm.objects.exceptions import ApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from sandbox.crm import Sandbox, SandboxServer


@pytest.fixture(scope="module")
def hs(server: SandboxServer, sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=sandbox.config.hs_access_token, host=server.hubspot_url)


def search(hs: HubSpot, object_type: str, **request: Any) -> Any:
    return hs.crm.objects.search_api.do_search(object_type, PublicObjectSearchRequest(**request))


def test_list_pages_with_after_cursors(hs: HubSpot) -> None:
    api = hs.crm.objects.basic_api
    first = api.get_page("emails", limit=20)
    assert len(first.results) == 20
    second = api.get_page("emails", limit=20, after=first.paging.next.after)
    assert len(second.results) == 10 and second.paging is None
    ids = [r.id for r in first.results + second.results]
    assert ids == sorted(ids, key=int) and len(set(ids)) == 30


def test_list_answers_requested_properties_defaults_and_ignores_unknown_ones(hs: HubSpot) -> None:
    api = hs.crm.objects.basic_api
    page = api.get_page("deals", limit=1)
    assert set(page.results[0].properties) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    page = api.get_page("deals", limit=1, properties=["dealname", "no_such_property"])
    assert page.results[0].properties == {"dealname": "Deal 0"}


def test_list_with_history_associations_and_archived(hs: HubSpot) -> None:
    api = hs.crm.objects.basic_api
    page = api.get_page(
        "deals",
        limit=2,
        properties=["dealstage"],
        properties_with_history=["dealstage"],
        associations=["contacts", "companies"],
    )
    deal0, deal1 = page.results
    assert {a.id for a in deal0.associations["contacts"].results} == {"300", "301"}
    assert deal0.associations["contacts"].results[0].type == "deal_to_contact"
    assert [h.value for h in deal1.properties_with_history["dealstage"]] == [
        "qualifiedtobuy",
        "appointmentscheduled",
    ]
    archived = api.get_page("deals", archived=True)
    assert [d.id for d in archived.results] == ["403"] and archived.results[0].archived is True
    assert "403" not in {d.id for d in api.get_page("deals", limit=100).results}


def test_unknown_object_types_and_associations_are_400s(hs: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        hs.crm.objects.basic_api.get_page("widgets")
    assert caught.value.status == 400
    assert "Unable to infer object type from: widgets" in caught.value.body


def test_read_by_id_and_by_unique_property(hs: HubSpot) -> None:
    api = hs.crm.objects.basic_api
    assert (
        api.get_by_id("contacts", "301", properties=["email"]).properties["email"]
        == "p1@example.com"
    )
    assert api.get_by_id("contacts", "p2@example.com", id_property="email").id == "302"
    with pytest.raises(ApiException) as caught:
        api.get_by_id("contacts", "999")
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            [{"propertyName": "dealstage", "operator": "EQ", "value": "QUALIFIEDTOBUY"}],
            {"401", "404"},
        ),
        (
            [{"propertyName": "dealstage", "operator": "NEQ", "value": "qualifiedtobuy"}],
            {"400", "402"},
        ),
        ([{"propertyName": "amount", "operator": "GT", "value": "2000"}], {"401", "402"}),
        ([{"propertyName": "amount", "operator": "LTE", "value": "2500.5"}], {"400", "401"}),
        (
            [
                {
                    "propertyName": "amount",
                    "operator": "BETWEEN",
                    "value": "1000",
                    "highValue": "3000",
                }
            ],
            {"400", "401"},
        ),
        (
            [
                {
                    "propertyName": "dealstage",
                    "operator": "IN",
                    "values": ["closedwon", "appointmentscheduled"],
                }
            ],
            {"400", "402"},
        ),
        (
            [{"propertyName": "dealstage", "operator": "NOT_IN", "values": ["qualifiedtobuy"]}],
            {"400", "402"},
        ),
        ([{"propertyName": "amount", "operator": "HAS_PROPERTY"}], {"400", "401", "402"}),
        ([{"propertyName": "amount", "operator": "NOT_HAS_PROPERTY"}], {"404"}),
        (
            [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1736208000000"}],
            {"402", "404"},
        ),
        (
            [
                {
                    "propertyName": "hs_lastmodifieddate",
                    "operator": "LT",
                    "value": "2025-01-07T00:00:00Z",
                }
            ],
            {"400", "401"},
        ),
    ],
)
def test_search_filters(hs: HubSpot, filters: list[dict[str, Any]], expected: set[str]) -> None:
    found = search(hs, "deals", filter_groups=[{"filters": filters}], limit=100)
    assert {r.id for r in found.results} == expected
    assert found.total == len(expected)


def test_search_groups_are_ored_and_filters_anded(hs: HubSpot) -> None:
    groups = [
        {
            "filters": [
                {"propertyName": "dealstage", "operator": "EQ", "value": "qualifiedtobuy"},
                {"propertyName": "amount", "operator": "HAS_PROPERTY"},
            ]
        },
        {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]},
    ]
    assert {r.id for r in search(hs, "deals", filter_groups=groups).results} == {"401", "402"}


def test_search_sorts_pages_and_totals(hs: HubSpot) -> None:
    request = {
        "filter_groups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_email_direction",
                        "operator": "EQ",
                        "value": "INCOMING_EMAIL",
                    }
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_timestamp", "direction": "DESCENDING"}],
        "properties": ["hs_email_subject"],
        "limit": 10,
    }
    first = search(hs, "emails", **request)
    assert first.total == 15
    assert first.results[0].properties["hs_email_subject"] == "Mail 29"
    assert first.paging.next.after == "10"
    second = search(hs, "emails", after=first.paging.next.after, **request)
    assert len(second.results) == 5 and second.paging is None


def test_search_limits_answer_400(hs: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        search(hs, "emails", limit=201)
    assert caught.value.status == 400
    with pytest.raises(ApiException) as caught:
        search(hs, "emails", limit=100, after="9950")
    assert caught.value.status == 400 and "10000" in caught.value.body
    with pytest.raises(ApiException) as caught:
        search(
            hs,
            "deals",
            filter_groups=[
                {"filters": [{"propertyName": "amount", "operator": "ROUGHLY", "value": "1"}]}
            ],
        )
    assert caught.value.status == 400


def test_search_responses_have_no_rate_limit_headers_but_lists_do(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    headers = {"Authorization": f"Bearer {sandbox.config.hs_access_token}"}
    listed = requests.get(f"{server.hubspot_url}/crm/v3/objects/deals", headers=headers, timeout=5)
    assert listed.headers["X-HubSpot-RateLimit-Max"] == str(sandbox.config.hs_ten_second_max)
    assert int(listed.headers["X-HubSpot-RateLimit-Remaining"]) < sandbox.config.hs_ten_second_max
    assert listed.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "X-HubSpot-RateLimit-Daily-Remaining" in listed.headers
    searched = requests.post(
        f"{server.hubspot_url}/crm/v3/objects/deals/search", json={}, headers=headers, timeout=5
    )
    assert searched.status_code == 200 and "X-HubSpot-RateLimit-Max" not in searched.headers


def test_a_bad_token_is_401(server: SandboxServer) -> None:
    answer = requests.get(
        f"{server.hubspot_url}/crm/v3/objects/deals",
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.json()["category"] == "INVALID_AUTHENTICATION"


def test_batch_read_answers_207_for_missing_ids(hs: HubSpot) -> None:
    request = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id="400"), SimplePublicObjectId(id="999")],
        properties=["dealname"],
        properties_with_history=[],
    )
    answer = hs.crm.objects.batch_api.read("deals", request)
    assert [r.id for r in answer.results] == ["400"]
    assert answer.num_errors == 1
    assert answer.errors[0].category == "OBJECT_NOT_FOUND" and answer.errors[0].context == {
        "ids": ["999"]
    }


def test_batch_update_writes_bumps_stamps_and_reports_missing_ids(
    hs: HubSpot, sandbox: Sandbox
) -> None:
    sandbox.advance(minutes=1)
    inputs = [
        SimplePublicObjectBatchInput(id="402", properties={"amount": "9100"}),
        SimplePublicObjectBatchInput(id="998", properties={"amount": "1"}),
    ]
    answer = hs.crm.objects.batch_api.update(
        "deals", BatchInputSimplePublicObjectBatchInput(inputs=inputs)
    )
    assert answer.num_errors == 1 and answer.errors[0].context == {"ids": ["998"]}
    deal = hs.crm.objects.basic_api.get_by_id(
        "deals",
        "402",
        properties=["amount", "hs_lastmodifieddate"],
        properties_with_history=["amount"],
    )
    assert deal.properties["amount"] == "9100"
    stamp = sandbox.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert deal.properties["hs_lastmodifieddate"] == stamp
    assert deal.properties_with_history["amount"][0].value == "9100"
    assert deal.properties_with_history["amount"][0].source_type == "INTEGRATION"


def test_batch_update_validation_is_a_400(hs: HubSpot) -> None:
    for properties in ({"no_such": "x"}, {"dealstage": "not-a-stage"}, {"hs_object_id": "1"}):
        inputs = [SimplePublicObjectBatchInput(id="400", properties=properties)]
        with pytest.raises(ApiException) as caught:
            hs.crm.objects.batch_api.update(
                "deals", BatchInputSimplePublicObjectBatchInput(inputs=inputs)
            )
        assert caught.value.status == 400
    too_many = [
        SimplePublicObjectBatchInput(id=str(n), properties={"amount": "1"}) for n in range(101)
    ]
    with pytest.raises(ApiException) as caught:
        hs.crm.objects.batch_api.update(
            "deals", BatchInputSimplePublicObjectBatchInput(inputs=too_many)
        )
    assert caught.value.status == 400


def test_v4_association_batch_read_both_directions(hs: HubSpot) -> None:
    api = hs.crm.associations.v4.batch_api
    answer = api.get_page(
        "deals",
        "contacts",
        batch_input_public_fetch_associations_batch_request={
            "inputs": [{"id": "400"}, {"id": "402"}]
        },
    )
    [result] = answer.results
    assert {t.to_object_id for t in result.to} == {"300", "301"}
    assert result.to[0].association_types[0].type_id == 3
    assert answer.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    inverse = api.get_page(
        "contacts",
        "deals",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": "300"}]},
    )
    assert inverse.results[0].to[0].association_types[0].type_id == 4
    companies = api.get_page(
        "deals",
        "companies",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": "400"}]},
    )
    assert companies.results[0].to[0].association_types[0].label == "Primary"


def test_properties_read_and_create_with_groups(hs: HubSpot) -> None:
    core, groups = hs.crm.properties.core_api, hs.crm.properties.groups_api
    names = {p.name: p for p in core.get_all("deals").results}
    assert names["amount"].type == "number"
    assert {o.value for o in names["dealstage"].options} >= {"closedwon", "qualifiedtobuy"}
    groups.create("deals", PropertyGroupCreate(name="milestone_sync", label="Milestone Sync"))
    created = core.create(
        "deals",
        PropertyCreate(
            name="ms_milestone",
            label="Milestone",
            type="string",
            field_type="text",
            group_name="milestone_sync",
        ),
    )
    assert created.name == "ms_milestone" and created.hubspot_defined is False
    assert core.get_by_name("deals", "ms_milestone").group_name == "milestone_sync"
    with pytest.raises(Exception) as caught:
        core.create(
            "deals",
            PropertyCreate(
                name="ms_milestone",
                label="Milestone",
                type="string",
                field_type="text",
                group_name="milestone_sync",
            ),
        )
    assert getattr(caught.value, "status", None) == 409
    update = [SimplePublicObjectBatchInput(id="400", properties={"ms_milestone": "demo_held"})]
    hs.crm.objects.batch_api.update("deals", BatchInputSimplePublicObjectBatchInput(inputs=update))
    assert (
        hs.crm.objects.basic_api.get_by_id("deals", "400", properties=["ms_milestone"]).properties[
            "ms_milestone"
        ]
        == "demo_held"
    )


def test_pipelines_and_owners(hs: HubSpot) -> None:
    [pipeline] = hs.crm.pipelines.pipelines_api.get_all("deals").results
    assert pipeline.stages[0].metadata == {"probability": "0.2", "isClosed": "false"}
    owners = hs.crm.owners.owners_api.get_page(limit=1)
    assert owners.results[0].email == "alice@example.com" and owners.paging.next.after == "102"
    assert hs.crm.owners.owners_api.get_by_id(9002, id_property="userId").last_name == "Brown"
