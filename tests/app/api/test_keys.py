"""The keys API: the key is shown once; the API and `milestones keys --json` show one shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.core.crypto import generate_key
from app.core.database import Database
from app.core.settings import Settings
from tests.app.api.conftest import Auth


@pytest.fixture
def client(db: Database, tmp_path: Path, auth: Auth) -> Iterator[TestClient]:
    settings = Settings(log_level="WARNING", secret_key=generate_key(), data_dir=tmp_path)  # type: ignore[arg-type]
    with TestClient(create_app(settings, db), headers=auth("admin")) as test_client:
        yield test_client


def test_a_created_key_is_shown_once_with_its_dates_in_iso_form(client: TestClient) -> None:
    created = client.post("/api/v1/keys", json={"name": "ann", "role": "rep", "owner": "005A"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["key"].startswith("msk_") and key["owner"] == "005A"
    assert datetime.fromisoformat(key["created_at"]).isoformat() == key["created_at"]
    assert key["created_at"].endswith("+00:00")
    assert key["key"] not in client.get("/api/v1/keys").text
    revoked = client.delete(f"/api/v1/keys/{key['prefix']}").json()
    assert revoked["revoked_at"].endswith("+00:00")


def test_the_cli_lists_keys_in_the_shape_the_api_does(
    client: TestClient,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import keys as cli

    key = client.post("/api/v1/keys", json={"name": "ann", "role": "rep", "owner": "005A"}).json()
    client.delete(f"/api/v1/keys/{key['prefix']}")
    monkeypatch.setattr(cli, "open_database", lambda: db)
    cli.list_command(as_json=True)
    assert json.loads(capsys.readouterr().out)["keys"] == client.get("/api/v1/keys").json()["data"]


def test_a_key_revoked_elsewhere_stops_working_at_once(client: TestClient, db: Database) -> None:
    """`milestones keys revoke` runs in another process: this server learns nothing of it but
    what the database says, and the very next request is refused."""
    from app.services.access.api_keys import create_key, revoke_key

    with db.session() as session:
        _, secret = create_key(session, "dashboard", "ops", None)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/sync-runs", headers=headers).status_code == 200  # now cached
    with db.session() as session:
        revoke_key(session, secret.split("_")[1])  # msk_<prefix>_<secret>
    refused = client.get("/api/v1/sync-runs", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/sync-runs?before=9223372036854775808"),
        ("post", "/api/v1/mappings/versions/9223372036854775808/activate"),
        ("delete", "/api/v1/keys/9223372036854775808"),
    ],
)
def test_numbers_no_row_can_have_are_a_clear_answer_not_a_server_error(
    client: TestClient, method: str, path: str
) -> None:
    answer = getattr(client, method)(path)
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
