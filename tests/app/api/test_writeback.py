"""Write-back over the API, for admins and ops: fields, runs (and dry runs), failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.core.crypto import SecretBox, generate_key
from app.core.database import Database
from app.core.settings import Settings
from sandbox.history import build_params, generate
from tests.app.api.conftest import Auth
from tests.support.writeback_world import crm_world


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    generate(build_params(seed=5, size="small", future_days=10), out)
    return out


@pytest.fixture
def client(db: Database, tmp_path: Path, auth: Auth, history: Path) -> Iterator[TestClient]:
    key = generate_key()
    settings = Settings(log_level="WARNING", secret_key=key, data_dir=tmp_path)
    with (
        crm_world(db, SecretBox([key.encode()]), history, "salesforce"),
        TestClient(create_app(settings, db), headers=auth("ops")) as test_client,
    ):
        yield test_client


def test_ops_check_and_create_fields_run_write_back_and_read_runs(
    client: TestClient, auth: Auth
) -> None:
    checked = client.post("/api/v1/writeback/acme/fields").json()
    assert checked["mode"] == "check" and checked["ok"] is False
    assert "Opportunity.Milestone__c does not exist" in checked["problems"][0]
    created = client.post("/api/v1/writeback/acme/fields", params={"mode": "create"}).json()
    assert created["ok"] is True and len(created["created"]) == 10

    dry = client.post("/api/v1/writeback/acme", params={"dry_run": True}).json()
    assert dry["dry_run"] is True and dry["records_changed"] > 200
    assert dry["records_written"] == dry["api_calls"] == 0
    run = client.post("/api/v1/writeback/acme").json()
    assert run["status"] == "succeeded" and run["records_written"] == dry["records_changed"]
    assert run["write_calls"] == -(-run["records_written"] // 200)

    runs = client.get("/api/v1/writeback/runs", params={"connection": "acme"}).json()
    assert [r["dry_run"] for r in runs["data"]] == [False, True]
    assert runs["data"][0]["records_written"] == run["records_written"]
    assert runs["data"][0]["records_deferred"] == 0
    assert client.get("/api/v1/writeback/acme/failures").json() == {"data": [], "count": 0}

    missing = client.post("/api/v1/writeback/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    manager = client.post("/api/v1/writeback/acme", headers=auth("manager"))
    assert manager.status_code == 403
    assert client.get("/api/v1/writeback/runs", headers={"Authorization": ""}).status_code == 401


def test_the_cli_reports_fields_and_runs_in_the_shapes_the_api_does(
    client: TestClient,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import writeback as cli

    box = SecretBox.from_settings(client.app.state.settings)  # type: ignore[attr-defined]
    monkeypatch.setattr(cli, "open_database", lambda: db)
    monkeypatch.setattr(cli, "secret_box", lambda: box)
    answered = client.post("/api/v1/writeback/acme/fields", params={"mode": "dry_run"}).json()
    cli.setup_fields("acme", dry_run=True, check=False, as_json=True)
    printed = json.loads(capsys.readouterr().out)
    opportunity = printed["fields"]["Opportunity"]
    assert printed == answered and "length" in opportunity[0]
    assert any("length" not in field for field in opportunity)  # left out, never null

    answered = client.post("/api/v1/writeback/acme", params={"dry_run": True}).json()
    monkeypatch.setattr(cli, "settings", lambda: client.app.state.settings)  # type: ignore[attr-defined]
    cli.writeback("acme", dry_run=True, as_json=True)
    [printed] = json.loads(capsys.readouterr().out)["runs"]
    for report in (printed, answered):  # what differs from one run to the next
        del report["run_id"], report["seconds"]
    assert printed == answered and printed["changes"][0]["values"]
