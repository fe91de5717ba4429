"""The connections API: secrets go in and never come out; errors are problem+json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.main import create_app
from app.core.crypto import SecretBox, generate_key
from app.core.database import Database
from app.core.settings import Settings
from app.models import Connection
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.app.api.conftest import Auth
from tests.sandbox.crm.export_fixture import write_export
from tests.support.sandbox import salesforce_connection_args


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    with SandboxServer(Sandbox.from_export(export, SandboxConfig())) as running:
        yield running


@pytest.fixture
def client(db: Database, tmp_path: Path, auth: Auth) -> Iterator[TestClient]:
    settings = Settings(log_level="WARNING", secret_key=generate_key(), data_dir=tmp_path)  # type: ignore[arg-type]
    with TestClient(create_app(settings, db), headers=auth("admin")) as test_client:
        yield test_client


def _create(client: TestClient, server: SandboxServer, name: str = "acme") -> dict[str, object]:
    body = {"name": name, **salesforce_connection_args(server)}
    response = client.post("/api/v1/connections", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_created_connections_show_which_secrets_are_set_but_never_their_values(
    client: TestClient, server: SandboxServer
) -> None:
    secret = salesforce_connection_args(server)["secrets"]["client_secret"]
    created = _create(client, server)
    assert created["secrets_set"] == ["client_secret"]
    listed = client.get("/api/v1/connections")
    assert listed.json()["count"] == 1
    for response in (listed, client.get("/api/v1/connections/acme")):
        assert secret not in response.text


def test_test_endpoint_reports_each_stream(client: TestClient, server: SandboxServer) -> None:
    _create(client, server)
    report = client.post("/api/v1/connections/acme/test").json()
    assert report["ok"] is True
    assert {row["stream"] for row in report["streams"]} >= {"Task", "Opportunity"}


def test_a_sync_is_queued_for_the_workers_and_merged_while_it_waits(
    client: TestClient, server: SandboxServer
) -> None:
    _create(client, server)
    first = client.post("/api/v1/connections/acme/sync", json={"streams": ["Task"]})
    assert first.status_code == 202
    body = first.json()
    assert (body["connection"], body["status"]) == ("acme", "queued")
    again = client.post("/api/v1/connections/acme/sync", json={})
    assert again.json()["job_id"] == body["job_id"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"name": "x", "settings": {"kind": "dynamics"}}, 422, "invalid connection settings"),
        (
            {"name": "x", "settings": {"kind": "salesforce", "auth_flow": "client_credentials",
             "token_url": "http://plain", "client_id": "c"}},
            422,
            "token_url",
        ),
        ({"name": "bad name!", "settings": {"kind": "hubspot"}}, 422, "body.name"),
        ({"name": "x", "settings": {"kind": "hubspot"}, "secrets": {"pwd": "p"}}, 422, "pwd"),
    ],
)  # fmt: skip
def test_invalid_requests_are_problems_naming_the_field(
    client: TestClient, body: dict[str, object], status: int, detail: str
) -> None:
    response = client.post("/api/v1/connections", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_duplicates_conflict_and_unknown_names_are_404(
    client: TestClient, server: SandboxServer
) -> None:
    _create(client, server)
    duplicate = client.post(
        "/api/v1/connections", json={"name": "acme", **salesforce_connection_args(server)}
    )
    assert duplicate.status_code == 409
    missing = client.get("/api/v1/connections/nope")
    assert missing.status_code == 404
    assert "no connection named 'nope'" in missing.json()["detail"]
    assert client.delete("/api/v1/connections/acme").status_code == 204
    assert client.delete("/api/v1/connections/acme").status_code == 404


def test_only_admins_manage_connections(client: TestClient, auth: Auth) -> None:
    for role in ("ops", "manager", "rep"):
        headers = auth(role, "005A" if role == "rep" else None)
        response = client.get("/api/v1/connections", headers=headers)
        assert response.status_code == 403, role
        assert response.headers["content-type"] == "application/problem+json"
    anonymous = client.get("/api/v1/connections", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_a_hubspot_oauth_token_refreshed_by_a_check_is_stored_but_never_shown(
    db: Database, tmp_path: Path, auth: Auth, server: SandboxServer
) -> None:
    key = generate_key()
    settings = Settings(log_level="WARNING", secret_key=key, data_dir=tmp_path)  # type: ignore[arg-type]
    info = server.connection_info()["hubspot"]
    body = {
        "name": "portal",
        "settings": {
            "kind": "hubspot",
            "base_url": info["base_url"],
            "client_id": info["client_id"],
        },
        "secrets": {"refresh_token": info["refresh_token"], "client_secret": info["client_secret"]},
    }
    with TestClient(create_app(settings, db), headers=auth("admin")) as client:
        assert client.post("/api/v1/connections", json=body).status_code == 201
        check = client.post("/api/v1/connections/portal/test")
        shown = client.get("/api/v1/connections/portal")
    assert check.json()["authenticated"] is True
    with db.sessions() as session:
        sealed = session.scalars(select(Connection.credentials_sealed)).one()
    stored = SecretBox([key.encode()]).open(sealed)
    assert stored["access_token"]  # the next sync starts with it
    assert shown.json()["secrets_set"] == ["access_token", "client_secret", "refresh_token"]
    for text in (check.text, shown.text):
        assert not [v for v in (*stored.values(), info["client_secret"]) if v in text]


def test_the_cli_lists_connections_in_the_shape_the_api_does(
    client: TestClient,
    server: SandboxServer,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import connections as cli

    _create(client, server)
    box = SecretBox.from_settings(client.app.state.settings)  # type: ignore[attr-defined]
    monkeypatch.setattr(cli, "open_database", lambda: db)
    monkeypatch.setattr(cli, "secret_box", lambda: box)
    cli.list_(as_json=True)
    assert json.loads(capsys.readouterr().out) == client.get("/api/v1/connections").json()


def test_a_patch_adds_extra_fields_and_the_stream_is_read_whole_at_the_next_sync(
    client: TestClient, server: SandboxServer, db: Database
) -> None:
    from app.models import StreamCursor

    created = _create(client, server)
    with db.session() as session:
        for stream in ("Opportunity", "Task"):
            session.add(StreamCursor(connection_id=created["id"], stream=stream))
    patch = {"settings": {"extra_fields": {"Opportunity": ["Segment__c"]}, "page_size": 500}}
    response = client.patch("/api/v1/connections/acme", json=patch)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["settings"]["extra_fields"] == {"Opportunity": ["Segment__c"]}
    assert changed["settings"]["page_size"] == 500
    assert changed["settings"]["client_id"]  # what the patch left out stays
    assert changed["reread_streams"] == ["Opportunity"]
    with db.sessions() as session:
        assert list(session.scalars(select(StreamCursor.stream))) == ["Task"]
    again = client.patch("/api/v1/connections/acme", json=patch).json()
    assert again["reread_streams"] == []  # nothing new to read


def test_a_patch_changes_secrets_interval_and_the_switch_but_never_the_kind(
    client: TestClient, server: SandboxServer
) -> None:
    _create(client, server)
    body = {"secrets": {"refresh_token": "r"}, "sync_interval_seconds": 600, "enabled": False}
    changed = client.patch("/api/v1/connections/acme", json=body).json()
    assert changed["secrets_set"] == ["client_secret", "refresh_token"]
    assert (changed["sync_interval_seconds"], changed["enabled"]) == (600, False)
    refused = client.patch("/api/v1/connections/acme", json={"settings": {"kind": "hubspot"}})
    assert refused.status_code == 422
    assert "stays one" in refused.json()["detail"]


def test_an_export_connection_must_point_at_files_that_are_there(
    client: TestClient, tmp_path: Path
) -> None:
    body = {"name": "files", "settings": {"kind": "export", "path": str(tmp_path / "nope")}}
    refused = client.post("/api/v1/connections", json=body)
    assert refused.status_code == 422
    assert "does not exist" in refused.json()["detail"]


def test_credentials_sealed_with_a_lost_key_are_listed_with_what_to_do(
    client: TestClient, server: SandboxServer, db: Database
) -> None:
    _create(client, server)
    with db.session() as session:  # as if sealed with a key the service no longer has
        connection = session.scalar(select(Connection).where(Connection.name == "acme"))
        assert connection is not None
        connection.credentials_sealed = SecretBox([generate_key()]).seal({"client_secret": "x"})
    listed = client.get("/api/v1/connections")
    assert listed.status_code == 200
    (acme,) = listed.json()["data"]
    assert acme["secrets_set"] == []
    assert "MILESTONES_SECRET_KEY" in acme["credentials_problem"]
