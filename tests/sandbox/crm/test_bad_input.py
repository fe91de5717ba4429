"""Bad input gets the status and error body the real API gives, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.crm import Sandbox, SandboxServer

SF_QUERIES = [
    "",
    "SELECT",
    "SELECT Id FROM Account WHERE Name LIKE 5",
    "SELECT Id FROM Account WHERE Name IN ()",
    "SELECT Id FROM Account ORDER BY",
    "SELECT Id FROM Account LIMIT -1",
    "SELECT Id FROM Account WHERE Name = 'unterminated",
    "SELECT Id FROM Account WHERE CreatedDate = 2025-13-45T00:00:00Z",
    "SELECT Account.Name.Foo FROM Contact",
    "SELECT Id FROM Task WHERE IsDeleted > true",
    "SELECT Id FROM Account WHERE (Name = 'x'",
    "SELECT Id FROM Account WHERE Name = :name",
]
SF_COLLECTIONS = [
    "[]",
    '{"records": 5}',
    '{"records": [5]}',
    "not json",
    '{"records": [{"attributes": {"type": "Account"}, "id": "0015g0000000001AAA", "Name": []}]}',
]
HS_SEARCHES: list[Any] = [
    [],
    {"filterGroups": {}},
    {"filterGroups": [{"filters": 5}]},
    {
        "filterGroups": [
            {"filters": [{"propertyName": "closedate", "operator": "GT", "value": "x"}]}
        ]
    },
    {
        "filterGroups": [
            {"filters": [{"propertyName": "amount", "operator": "BETWEEN", "value": "1"}]}
        ]
    },
    {"limit": "5"},
    {"sorts": [5]},
    {"sorts": [{"propertyName": "nope"}]},
    {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]},
    {"filterGroups": [{"filters": []}] * 6},
]


@pytest.mark.parametrize("query", SF_QUERIES)
def test_salesforce_queries(server: SandboxServer, query: str) -> None:
    answer = server.requests_session().get(
        f"{server.salesforce_url}/services/data/v59.0/query",
        params={"q": query},
        headers={"Authorization": f"Bearer {server.access_token()}"},
    )
    assert answer.status_code == 400
    [error] = answer.json()
    assert set(error) == {"message", "errorCode"}


@pytest.mark.parametrize("body", SF_COLLECTIONS)
def test_salesforce_collections(server: SandboxServer, body: str) -> None:
    answer = server.requests_session().patch(
        f"{server.salesforce_url}/services/data/v59.0/composite/sobjects",
        data=body,
        headers={
            "Authorization": f"Bearer {server.access_token()}",
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] in ("JSON_PARSER_ERROR", "INVALID_TYPE")


@pytest.mark.parametrize("body", HS_SEARCHES)
def test_hubspot_searches(server: SandboxServer, sandbox: Sandbox, body: Any) -> None:
    answer = requests.post(
        f"{server.hubspot_url}/crm/v3/objects/deals/search",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.config.hs_access_token}"},
        timeout=5,
    )
    assert answer.status_code == 400
    payload = answer.json()
    assert payload["status"] == "error" and payload["category"] == "VALIDATION_ERROR"
    assert payload["correlationId"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/crm/v3/objects/deals/batch/read", {"inputs": 5}),
        (
            "/crm/v3/objects/deals/batch/update",
            {"inputs": [{"id": "400", "properties": {"closedate": "x"}}]},
        ),
        ("/crm/v3/objects/deals/batch/update", {"inputs": [{"id": "400"}, {"id": "400"}]}),
        ("/crm/v4/associations/deals/widgets/batch/read", {"inputs": [{"id": "400"}]}),
        (
            "/crm/v3/properties/deals",
            {
                "name": "x",
                "label": "x",
                "type": "text",
                "fieldType": "text",
                "groupName": "dealinformation",
            },
        ),
        (
            "/crm/v3/properties/deals",
            {"name": "x", "label": "x", "type": "string", "fieldType": "text", "groupName": "nope"},
        ),
        ("/crm/v3/properties/deals/groups", {"name": "g", "label": "g", "displayOrder": "x"}),
    ],
)
def test_hubspot_writes(server: SandboxServer, sandbox: Sandbox, path: str, body: Any) -> None:
    answer = requests.post(
        f"{server.hubspot_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.config.hs_access_token}"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["status"] == "error"
