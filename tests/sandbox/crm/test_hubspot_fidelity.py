"""Where the HubSpot sandbox must be exactly as strict, and exactly as lenient, as HubSpot:
search limits, standard object types it holds no records of, custom schemas, and the wire
shape of v4 associations (checked on the raw JSON: the client would coerce a wrong type)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hubspot import HubSpot

from sandbox.crm import Sandbox, SandboxServer


@pytest.fixture(scope="module")
def hs(server: SandboxServer, sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=sandbox.config.hs_access_token, host=server.hubspot_url)


@pytest.fixture(scope="module")
def call(server: SandboxServer, sandbox: Sandbox) -> Any:
    headers = {"Authorization": f"Bearer {sandbox.config.hs_access_token}"}

    def send(method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, f"{server.hubspot_url}{path}", headers=headers, timeout=5, **kwargs
        )

    return send


def _filters(count: int) -> list[dict[str, str]]:
    return [{"propertyName": "amount", "operator": "GTE", "value": "0"}] * count


@pytest.mark.parametrize(
    ("groups", "reason"),
    [
        ([_filters(7)], "Too many filters in filter group 0: 7 (max 6)"),
        ([_filters(11)], "Too many filters in filter group 0: 11 (max 6)"),
        ([_filters(1)] * 6, "Too many filter groups: 6 (max 5)"),
        ([_filters(6), _filters(6), _filters(6), _filters(1)], "Too many filters: 19 (max 18)"),
    ],
)
def test_search_refuses_more_filters_than_hubspot_allows(
    call: Any, groups: list[list[dict[str, str]]], reason: str
) -> None:
    body = {"filterGroups": [{"filters": g} for g in groups]}
    answer = call("POST", "/crm/v3/objects/deals/search", json=body)
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert reason in answer.json()["message"]


def test_search_accepts_the_most_filters_hubspot_allows(call: Any) -> None:
    body = {"filterGroups": [{"filters": _filters(6)}] * 3}
    answer = call("POST", "/crm/v3/objects/deals/search", json=body)
    assert answer.status_code == 200 and answer.json()["total"] > 0


@pytest.mark.parametrize(
    "object_type", ["tickets", "products", "line_items", "communications", "0-5", "quote"]
)
def test_standard_object_types_without_records_are_served_empty(
    call: Any, object_type: str
) -> None:
    listed = call("GET", f"/crm/v3/objects/{object_type}")
    assert listed.status_code == 200 and listed.json() == {"results": []}
    searched = call("POST", f"/crm/v3/objects/{object_type}/search", json={})
    assert searched.status_code == 200 and searched.json()["total"] == 0
    assert call("GET", f"/crm/v3/properties/{object_type}").status_code == 200


def test_associations_to_standard_types_without_records_are_left_out(hs: HubSpot) -> None:
    page = hs.crm.objects.basic_api.get_page(
        "deals", limit=1, associations=["tickets", "line_items", "contacts"]
    )
    assert set(page.results[0].associations) == {"contacts"}
    answer = hs.crm.associations.v4.batch_api.get_page(
        "deals",
        "tickets",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": "400"}]},
    )
    assert answer.results == []
    assert answer.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_names_that_are_no_object_type_stay_refused(call: Any) -> None:
    answer = call("GET", "/crm/v3/objects/deals", params={"associations": "widgets"})
    assert answer.status_code == 400
    assert "Unable to infer object type from: widgets" in answer.json()["message"]


def test_the_custom_schemas_of_a_portal_without_any_are_an_empty_list(call: Any) -> None:
    answer = call("GET", "/crm/v3/schemas")
    assert answer.status_code == 200 and answer.json() == {"results": []}


def test_v4_association_reads_give_to_object_ids_as_strings(call: Any) -> None:
    body = {"inputs": [{"id": "400"}]}
    answer = call("POST", "/crm/v4/associations/deals/contacts/batch/read", json=body)
    targets = answer.json()["results"][0]["to"]
    assert sorted(t["toObjectId"] for t in targets) == ["300", "301"]


def test_a_primary_association_comes_with_its_unlabeled_type(call: Any, hs: HubSpot) -> None:
    body = {"inputs": [{"id": "400"}]}
    answer = call("POST", "/crm/v4/associations/deals/companies/batch/read", json=body)
    [target] = answer.json()["results"][0]["to"]
    assert target["toObjectId"] == "200"
    assert sorted((t["typeId"], t["label"]) for t in target["associationTypes"]) == [
        (5, "Primary"),
        (341, None),
    ]
    inverse = call(
        "POST", "/crm/v4/associations/companies/deals/batch/read", json={"inputs": [{"id": "200"}]}
    )
    [back] = inverse.json()["results"][0]["to"]
    assert sorted(t["typeId"] for t in back["associationTypes"]) == [6, 342]
    page = hs.crm.objects.basic_api.get_page("deals", limit=1, associations=["companies"])
    types = sorted(a.type for a in page.results[0].associations["companies"].results)
    assert types == ["deal_to_company", "deal_to_company_unlabeled"]
