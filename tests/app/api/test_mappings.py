"""The mapping operations over the API, for ops: validate, preview, activate, versions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.core.database import Database
from app.core.settings import Settings
from tests.app.api.conftest import Auth
from tests.app.services.mapping.mapping_world import (
    HUBSPOT_RULES,
    SALESFORCE_RULES,
    event_rows,
    seed_hubspot,
    seed_salesforce,
)

BROKEN = SALESFORCE_RULES.replace("stream: Event", "stream: Meetings", 1)


@pytest.fixture
def client(db: Database, auth: Auth) -> Iterator[TestClient]:
    seed_salesforce(db)
    app = create_app(Settings(log_level="WARNING"), db)
    with TestClient(app, raise_server_exceptions=False, headers=auth("ops")) as test_client:
        yield test_client


def test_validate_answers_with_every_diagnostic(client: TestClient) -> None:
    good = client.post(
        "/api/v1/mappings/validate", json={"rules": SALESFORCE_RULES, "file": "sf.yaml"}
    )
    assert good.status_code == 200
    assert good.json()["ok"] is True
    bad = client.post("/api/v1/mappings/validate", json={"rules": BROKEN, "file": "sf.yaml"}).json()
    assert bad["ok"] is False
    assert [(e["code"], e["file"], e["line"], e["column"]) for e in bad["errors"]] == [
        ("unknown-stream", "sf.yaml", 57, 21)
    ]


def test_activate_then_versions_then_roll_back(client: TestClient, db: Database) -> None:
    first = client.post(
        "/api/v1/mappings/activate", json={"rules": SALESFORCE_RULES, "note": "first"}
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["version"], body["connections"], body["events"]) == (
        1,
        [{"connection": "acme", "previous_version": None}],
        1,
    )
    stricter = SALESFORCE_RULES.replace("name: Brightwave sales processes (Salesforce)", "name: v2")
    second = client.post("/api/v1/mappings/activate", json={"rules": stricter}).json()
    assert (second["version"], second["connections"][0]["previous_version"]) == (2, 1)
    listed = client.get("/api/v1/mappings/versions").json()
    assert listed["count"] == 2 and [v["active_on"] for v in listed["data"]] == [[], ["acme"]]
    back = client.post("/api/v1/mappings/rollback", params={"connection": "acme"})
    assert back.status_code == 200, back.text
    assert back.json()["connections"] == [{"connection": "acme", "previous_version": 2}]
    assert len(event_rows(db, back.json()["version_id"])) == 1
    again = client.post("/api/v1/mappings/versions/2/activate", params={"connection": "acme"})
    assert again.json()["connections"] == [{"connection": "acme", "previous_version": 1}]
    unknown = client.post("/api/v1/mappings/versions/2/activate", params={"connection": "nope"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    missing = client.post("/api/v1/mappings/versions/9/activate")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_each_connection_gets_its_own_ruleset_over_the_api(
    client: TestClient, db: Database
) -> None:
    seed_hubspot(db)
    wrong = client.post(
        "/api/v1/mappings/activate", json={"rules": SALESFORCE_RULES, "connections": ["portal"]}
    )
    assert wrong.status_code == 422
    assert "connection 'portal' reads hubspot records" in wrong.json()["detail"]
    for rules, name in ((SALESFORCE_RULES, "acme"), (HUBSPOT_RULES, "portal")):
        activated = client.post(
            "/api/v1/mappings/activate", json={"rules": rules, "connections": [name]}
        )
        assert activated.status_code == 200, activated.text
        assert activated.json()["connections"] == [{"connection": name, "previous_version": None}]
    listed = client.get("/api/v1/mappings/versions").json()["data"]
    assert [(v["version"], v["active_on"]) for v in listed] == [(1, ["acme"]), (2, ["portal"])]
    portal = client.get("/api/v1/mappings/versions", params={"connection": "portal"}).json()
    assert [v["version"] for v in portal["data"]] == [2]
    nothing = client.post("/api/v1/mappings/rollback", params={"connection": "portal"})
    assert nothing.status_code == 409 and "no earlier" in nothing.json()["detail"]
    preview = client.post("/api/v1/mappings/preview", json={"rules": SALESFORCE_RULES}).json()
    assert preview["active_versions"] == {"acme": 1, "portal": 2}


def test_a_broken_ruleset_is_a_422_problem_listing_each_error(client: TestClient) -> None:
    for path in ("/api/v1/mappings/activate", "/api/v1/mappings/preview"):
        response = client.post(path, json={"rules": BROKEN, "file": "broken.yaml"})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["title"] == "Invalid ruleset"
        assert problem["detail"].startswith("broken.yaml:57:21: error: unknown stream 'Meetings'")
        assert problem["errors"][0]["line"] == 57
    assert client.get("/api/v1/mappings/versions").json()["count"] == 0


def test_preview_over_the_api(client: TestClient) -> None:
    response = client.post("/api/v1/mappings/preview", json={"rules": SALESFORCE_RULES, "limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["difference"]["added"] == 1 and body["active_versions"] == {}


def test_request_bodies_are_validated(client: TestClient) -> None:
    response = client.post(
        "/api/v1/mappings/preview", json={"rules": SALESFORCE_RULES, "limit": 1000}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "limit"]


def test_mappings_need_an_ops_or_admin_key(client: TestClient, auth: Auth) -> None:
    assert client.get("/api/v1/mappings/versions", headers=auth("admin")).status_code == 200
    assert client.get("/api/v1/mappings/versions", headers=auth("manager")).status_code == 403
    anonymous = client.get("/api/v1/mappings/versions", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_the_cli_previews_and_lists_versions_in_the_shapes_the_api_does(
    client: TestClient,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import mappings as cli

    monkeypatch.setattr(cli, "open_database", lambda: db)
    rules = tmp_path / "sf.yaml"
    rules.write_text(SALESFORCE_RULES)
    cli.preview_command(rules, connection=None, limit=2, as_json=True)
    printed = json.loads(capsys.readouterr().out)
    body = {"rules": SALESFORCE_RULES, "file": str(rules), "limit": 2}
    answered = client.post("/api/v1/mappings/preview", json=body).json()
    assert printed == answered
    [example] = [e for p in printed["processes"] for m in p["milestones"] for e in m["examples"]]
    assert example["occurred_at"].endswith("+00:00")

    client.post("/api/v1/mappings/activate", json={"rules": SALESFORCE_RULES, "note": "first"})
    cli.versions_command(as_json=True)
    printed = json.loads(capsys.readouterr().out)
    assert printed["versions"] == client.get("/api/v1/mappings/versions").json()["data"]


def test_activation_through_the_api_refuses_fields_no_sync_pulls_unless_asked_to_add_them(
    client: TestClient, db: Database
) -> None:
    from sqlalchemy import update

    from app.models import Connection
    from app.services.connections.registry import connection_settings
    from mappings import EXAMPLES

    with db.session() as session:  # the seeded connection, as added from the README
        session.execute(
            update(Connection).values(
                settings={"kind": "salesforce", "auth_flow": "client_credentials",
                          "token_url": "https://acme.my.salesforce.com/services/oauth2/token",
                          "client_id": "3MVG9x"}
            )
        )  # fmt: skip
    body = {"rules": (EXAMPLES / "salesforce.yaml").read_text(), "file": "salesforce.yaml"}
    refused = client.post("/api/v1/mappings/activate", json=body)
    assert refused.status_code == 409
    assert "acme does not pull Account.Segment__c" in refused.json()["detail"]
    assert '"add_fields": true' in refused.json()["detail"]
    accepted = client.post("/api/v1/mappings/activate", json={**body, "add_fields": True})
    assert accepted.status_code == 200, accepted.text
    with db.sessions() as session:
        acme = session.query(Connection).one()
        assert "Segment__c" in connection_settings(acme).extra_fields["Opportunity"]  # type: ignore[union-attr]
