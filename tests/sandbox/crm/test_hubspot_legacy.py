"""The legacy endpoints older HubSpot connectors still read (Singer and Airbyte taps)."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.crm import Sandbox, SandboxServer


def _get(server: SandboxServer, sandbox: Sandbox, path: str, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {sandbox.config.hs_access_token}"}
    return requests.get(f"{server.hubspot_url}{path}", headers=headers, params=params, timeout=10)


def test_v1_deal_pipelines_are_the_v3_pipelines_in_the_v1_shape(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    answer = _get(server, sandbox, "/crm-pipelines/v1/pipelines/deals")
    assert answer.status_code == 200
    [pipeline] = answer.json()["results"]
    [v3] = _get(server, sandbox, "/crm/v3/pipelines/deals").json()["results"]
    assert pipeline["pipelineId"] == v3["id"]
    assert (pipeline["objectType"], pipeline["objectTypeId"]) == ("DEAL", "0-3")
    assert pipeline["active"] is True and isinstance(pipeline["createdAt"], int)
    assert [s["stageId"] for s in pipeline["stages"]] == [s["id"] for s in v3["stages"]]
    assert pipeline["stages"][0]["metadata"] == {"probability": "0.2", "isClosed": "false"}
    assert "id" not in pipeline and "archived" not in pipeline["stages"][0]


def test_v1_pipelines_of_tickets_are_empty_and_other_types_refused(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    assert _get(server, sandbox, "/crm-pipelines/v1/pipelines/tickets").json() == {"results": []}
    assert _get(server, sandbox, "/crm-pipelines/v1/pipelines/widgets").status_code == 400


def test_v1_pipelines_need_a_token(server: SandboxServer) -> None:
    answer = requests.get(f"{server.hubspot_url}/crm-pipelines/v1/pipelines/deals", timeout=10)
    assert answer.status_code == 401


def test_v2_properties_are_the_v3_definitions_as_a_bare_list(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    answer = _get(server, sandbox, "/properties/v2/deal/properties")
    assert answer.status_code == 200
    v2 = answer.json()
    v3 = _get(server, sandbox, "/crm/v3/properties/deals").json()["results"]
    assert isinstance(v2, list) and [p["name"] for p in v2] == [p["name"] for p in v3]
    stage = next(p for p in v2 if p["name"] == "dealstage")
    assert {"type", "fieldType", "groupName", "readOnlyValue", "readOnlyDefinition"} <= set(stage)
    assert "modificationMetadata" not in stage
    assert _get(server, sandbox, "/properties/v2/emails/properties").status_code == 200


def test_goal_targets_are_a_standard_type_served_empty(
    server: SandboxServer, sandbox: Sandbox
) -> None:
    properties = _get(server, sandbox, "/crm/v3/properties/goal_targets")
    assert properties.status_code == 200 and properties.json()["results"]
    listed = _get(server, sandbox, "/crm/v3/objects/goal_targets").json()
    assert listed["results"] == []
    assert _get(server, sandbox, "/crm/v3/properties/0-74").status_code == 200
