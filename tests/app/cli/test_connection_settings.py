"""`connections add` and `connections update` take every setting the API takes: extra fields
per stream, secrets a HubSpot private app needs for webhooks, export paths that exist."""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson
import pytest
import typer
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.cli.connection_options import SETTING_OPTIONS
from app.cli.main import app
from app.core.crypto import generate_key
from app.core.database import Database
from app.core.settings import Settings
from app.services.connections.registry import ExportSettings, HubSpotSettings, SalesforceSettings
from sandbox.crm.hubspot.webhooks import sign_v3
from tests.app.cli.conftest import run
from tests.conftest import FreshDatabases
from tests.sandbox.crm.export_fixture import write_export

SALESFORCE = [
    "--kind", "salesforce", "--client-id", "3MVG9x",
    "--token-url", "https://acme.my.salesforce.com/services/oauth2/token",
]  # fmt: skip


@pytest.fixture
def admin_env(env: dict[str, str], fresh_databases: FreshDatabases) -> dict[str, str]:
    env["DATABASE_URL"] = fresh_databases.url("cli_settings")
    env["MILESTONES_SECRET_KEY"] = generate_key()
    env["MILESTONES_CRM_CLIENT_SECRET"] = "app-secret"
    assert run(["db", "upgrade"], env, Path(env["MILESTONES_DATA_DIR"]).parent).returncode == 0
    return env


def _options(path: str) -> set[str]:
    command = typer.main.get_command(app)
    for part in path.split():
        command = command.commands[part]  # type: ignore[attr-defined]
    return {name for param in command.params for name in getattr(param, "opts", ())}


def test_every_setting_of_every_kind_has_an_option_on_add_and_update() -> None:
    fields = set().union(
        *(
            set(model.model_fields)
            for model in (SalesforceSettings, HubSpotSettings, ExportSettings)
        )
    ) - {"kind"}
    assert set(SETTING_OPTIONS) == fields
    flags = {"streams": "--stream", "extra_fields": "--extra-field"}
    for command in ("connections add", "connections update"):
        options = _options(command)
        missing = [
            name for name in fields if flags.get(name, "--" + name.replace("_", "-")) not in options
        ]
        assert missing == [], f"{command} lacks options for {missing}"
        assert {"--client-secret", "--access-token", "--interval", "--json"} <= options


def test_add_takes_extra_fields_per_stream_and_any_setting(
    admin_env: dict[str, str], tmp_path: Path
) -> None:
    added = run(
        [
            "connections", "add", "acme", *SALESFORCE,
            "--extra-field", "Opportunity=Segment__c",
            "--extra-field", "Account=Segment__c,Region__c",
            "--page-size", "500", "--bulk-threshold", "none", "--interval", "600",
            "--writeback", '{"fields": {"stalled": {"name": "Deal_Stalled__c"}}}', "--json",
        ],
        admin_env,
        tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    connection = json.loads(added.stdout)
    settings = connection["settings"]
    assert settings["extra_fields"] == {
        "Opportunity": ["Segment__c"],
        "Account": ["Segment__c", "Region__c"],
    }
    assert (settings["page_size"], settings["bulk_threshold"]) == (500, None)
    assert settings["auth_flow"] == "client_credentials"
    assert settings["writeback"]["fields"]["stalled"]["name"] == "Deal_Stalled__c"
    assert connection["sync_interval_seconds"] == 600


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--portal-id", "62515"], "--portal-id does not apply to salesforce connections"),
        (["--extra-field", "Opportunity"], "write STREAM=FIELD"),
        (["--extra-field", "Opportunityy=X__c"], "unknown Salesforce stream(s) Opportunityy"),
        (["--writeback", "{nope"], "--writeback is not JSON"),
    ],
)
def test_add_refuses_what_it_cannot_keep(
    admin_env: dict[str, str], tmp_path: Path, options: list[str], message: str
) -> None:
    result = run(["connections", "add", "acme", *SALESFORCE, *options], admin_env, tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert message in line


def test_update_adds_extra_fields_and_says_a_sync_must_follow(
    admin_env: dict[str, str], tmp_path: Path
) -> None:
    extra = ["--extra-field", "Opportunity=Segment__c"]
    assert (
        run(["connections", "add", "acme", *SALESFORCE, *extra], admin_env, tmp_path).returncode
        == 0
    )
    more = ["--extra-field", "Opportunity=Region__c", "--extra-field", "Event=Outcome__c"]
    updated = run(
        ["connections", "update", "acme", *more, "--disable", "--json"], admin_env, tmp_path
    )
    assert updated.returncode == 0, updated.stderr
    connection = json.loads(updated.stdout)
    assert connection["settings"]["extra_fields"] == {
        "Opportunity": ["Segment__c", "Region__c"],
        "Event": ["Outcome__c"],
    }
    assert connection["reread_streams"] == ["Event", "Opportunity"]
    assert connection["enabled"] is False
    told = run(
        ["connections", "update", "acme", "--extra-field", "Task=Mood__c"], admin_env, tmp_path
    )
    assert "run `milestones sync acme --stream Task`" in told.stdout
    unchanged = run(
        ["connections", "update", "acme", "--page-size", "800", "--json"], admin_env, tmp_path
    )
    assert json.loads(unchanged.stdout)["reread_streams"] == []


def test_a_hubspot_private_app_keeps_its_client_secret_and_its_webhooks_are_accepted(
    admin_env: dict[str, str], tmp_path: Path
) -> None:
    added = run(
        [
            "connections", "add", "portal", "--kind", "hubspot", "--access-token", "pat-na1-x",
            "--client-secret", "private-app-secret", "--base-url", "http://127.0.0.1:9", "--json",
        ],
        admin_env,
        tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["secrets_set"] == ["access_token", "client_secret"]

    settings = Settings(
        log_level="WARNING",
        secret_key=admin_env["MILESTONES_SECRET_KEY"],
        data_dir=tmp_path,
        DATABASE_URL=admin_env["DATABASE_URL"],
    )
    database = Database(admin_env["DATABASE_URL"])
    body = orjson.dumps(
        [
            {
                "eventId": 1,
                "subscriptionType": "object.creation",
                "objectTypeId": "0-3",
                "objectId": 7,
            }
        ]
    )
    timestamp = str(int(time.time() * 1000))
    uri = "http://testserver/webhooks/hubspot"
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": sign_v3("private-app-secret", "POST", uri, body, timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
    }
    try:
        with TestClient(create_app(settings, database)) as client:
            response = client.post("/webhooks/hubspot", content=body, headers=headers)
    finally:
        database.dispose()
    assert response.status_code == 200, response.text
    assert response.json()["connections"] == ["portal"]


def test_an_export_connection_is_checked_by_reading_its_files(
    admin_env: dict[str, str], tmp_path: Path
) -> None:
    missing = run(
        ["connections", "add", "files", "--kind", "export", "--path", str(tmp_path / "nope")],
        admin_env,
        tmp_path,
    )
    assert missing.returncode == 1
    assert "export path" in missing.stderr and "does not exist" in missing.stderr

    export = write_export(tmp_path / "export")
    added = run(
        [
            "connections",
            "add",
            "files",
            "--kind",
            "export",
            "--path",
            str(export),
            "--crm",
            "salesforce",
        ],
        admin_env,
        tmp_path,
    )
    assert added.returncode == 0, added.stderr
    checked = run(["connections", "test", "files", "--json"], admin_env, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] is True and all(stream["readable"] for stream in report["streams"])
    human = run(["connections", "test", "files"], admin_env, tmp_path)
    assert human.returncode == 0 and "files: ready to sync" in human.stdout
