"""Webhooks in: HubSpot v3 signatures (stale, replayed, mis-signed, unsigned -> 401, nothing
queued, counted in /metrics) and the Salesforce trigger (token, JSON or Outbound Message)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.main import create_app
from app.core.crypto import SecretBox, generate_key, load_keys
from app.core.database import Database
from app.core.settings import Settings
from app.models import SyncJob
from app.services.connections.registry import create_connection
from app.services.sync.triggers import trigger_token
from app.services.sync.webhooks import hubspot_streams_for
from sandbox.crm.hubspot.webhooks import sign_v3  # the sandbox's own signer: interoperability
from tests.app.api.conftest import Auth

URI = "http://testserver/webhooks/hubspot"
SECRET = "hubspot-app-secret"
PORTAL = 62515


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(log_level="WARNING", secret_key=generate_key(), data_dir=tmp_path)  # type: ignore[arg-type]


@pytest.fixture
def client(db: Database, settings: Settings, auth: Auth) -> Iterator[TestClient]:
    box = SecretBox.from_settings(settings)
    with db.session() as session:
        create_connection(
            session,
            box,
            name="portal",
            settings={
                "kind": "hubspot",
                "base_url": "http://127.0.0.1:9",
                "portal_id": str(PORTAL),
            },
            secrets={"access_token": "pat-x", "client_secret": SECRET},
        )
        create_connection(
            session,
            box,
            name="org",
            settings={
                "kind": "salesforce",
                "auth_flow": "client_credentials",
                "token_url": "https://127.0.0.1:9/services/oauth2/token",
                "client_id": "cid",
            },
            secrets={"client_secret": "x"},
        )
    with TestClient(create_app(settings, db)) as test_client:
        test_client.metrics_headers = auth("ops")  # type: ignore[attr-defined]
        yield test_client


def _events(kind: str = "object.creation", type_id: str = "0-49") -> bytes:
    event = {"eventId": 1, "subscriptionType": kind, "portalId": PORTAL, "objectId": 7}
    if kind.startswith("object."):
        event["objectTypeId"] = type_id
    return orjson.dumps([event])


def _headers(body: bytes, *, secret: str = SECRET, age_ms: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000) - age_ms)
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": sign_v3(secret, "POST", URI, body, timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
    }


def _jobs(db: Database) -> list[SyncJob]:
    with db.sessions() as session:
        return list(session.scalars(select(SyncJob).order_by(SyncJob.id)))


def _counted(client: TestClient, source: str, outcome: str) -> float:
    text = client.get("/metrics", headers=client.metrics_headers).text  # type: ignore[attr-defined]
    line = f'milestones_webhooks_total{{outcome="{outcome}",source="{source}"}}'
    values = [row.split()[-1] for row in text.splitlines() if row.startswith(line)]
    return float(values[0]) if values else 0.0


def test_a_signed_delivery_queues_a_sync_of_the_named_objects(
    client: TestClient, db: Database
) -> None:
    body = _events()
    response = client.post("/webhooks/hubspot", content=body, headers=_headers(body))
    assert response.status_code == 200, response.text
    assert response.json()["connections"] == ["portal"]
    [job] = _jobs(db)
    assert (job.trigger, job.streams, job.status) == ("webhook", ["emails"], "queued")
    assert _counted(client, "hubspot", "accepted") == 1


def _unsigned(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {"Content-Type": "application/json"}


def _other_secret(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, _headers(body, secret="someone-else")


def _stale(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, _headers(body, age_ms=5 * 60 * 1000 + 5000)


def _tampered(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body.replace(b"7", b"8"), _headers(body)


@pytest.mark.parametrize(
    ("reason", "make"),
    [
        ("unsigned", _unsigned),
        ("bad_signature", _other_secret),
        ("stale", _stale),
        ("bad_signature", _tampered),
    ],
)
def test_unsigned_mis_signed_and_stale_deliveries_are_refused_and_counted(
    client: TestClient,
    db: Database,
    reason: str,
    make: Callable[[bytes], tuple[bytes, dict[str, str]]],
) -> None:
    body, headers = make(_events())
    response = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["reason"] == reason
    assert _jobs(db) == []
    assert _counted(client, "hubspot", reason) == 1


def test_a_replayed_delivery_is_refused(client: TestClient, db: Database) -> None:
    body = _events()
    headers = _headers(body)
    assert client.post("/webhooks/hubspot", content=body, headers=headers).status_code == 200
    again = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert again.status_code == 401 and again.json()["reason"] == "replayed"
    assert len(_jobs(db)) == 1
    assert _counted(client, "hubspot", "replayed") == 1


def test_a_timestamp_from_the_future_is_refused(client: TestClient) -> None:
    body = _events()
    response = client.post(
        "/webhooks/hubspot", content=body, headers=_headers(body, age_ms=-400_000)
    )
    assert response.status_code == 401 and response.json()["reason"] == "stale"


def test_event_kinds_map_to_streams() -> None:
    def events(*kinds: tuple[str, str]) -> list[dict[str, object]]:
        return [{"subscriptionType": kind, "objectTypeId": type_id} for kind, type_id in kinds]

    assert hubspot_streams_for(
        events(("deal.propertyChange", ""), ("object.creation", "0-47"))
    ) == [
        "deals",
        "meetings",
    ]
    assert hubspot_streams_for(events(("contact.associationChange", ""))) is None
    assert hubspot_streams_for(events(("object.creation", "2-999"))) is None


def test_salesforce_trigger_needs_the_connections_token(
    client: TestClient, db: Database, settings: Settings
) -> None:
    assert client.post("/webhooks/salesforce/org").status_code == 401
    bad = client.post("/webhooks/salesforce/org", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["reason"] == "unauthorized"
    assert _jobs(db) == []
    with db.sessions() as session:
        from app.services.connections.registry import get_connection

        org_id = get_connection(session, "org").id
    token = trigger_token(load_keys(settings), "org", org_id)
    flow = client.post(
        "/webhooks/salesforce/org",
        json={"streams": ["Task", "EmailMessage"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert flow.status_code == 200, flow.text
    [job] = _jobs(db)
    assert (job.trigger, job.streams) == ("salesforce", ["EmailMessage", "Task"])
    unknown = client.post(
        "/webhooks/salesforce/org",
        json={"streams": ["Nope"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert unknown.status_code == 422 and "Nope" in unknown.json()["detail"]
    assert _counted(client, "salesforce", "unauthorized") == 2


def test_salesforce_outbound_message_is_acknowledged(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.sessions() as session:
        from app.services.connections.registry import get_connection

        org_id = get_connection(session, "org").id
    token = trigger_token(load_keys(settings), "org", org_id)
    message = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
  <OrganizationId>00D5g000000SANDBOX</OrganizationId>
  <Notification><Id>04l1</Id><sObject xsi:type="sf:Task"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
    <sf:Id>00T5g000000001</sf:Id></sObject></Notification>
 </notifications></soapenv:Body></soapenv:Envelope>"""
    response = client.post(
        f"/webhooks/salesforce/org?token={token}",
        content=message,
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )
    assert response.status_code == 200
    assert "<Ack>true</Ack>" in response.text
    [job] = _jobs(db)
    assert job.streams == ["Task"]


def test_the_endpoint_milestones_trigger_token_prints_is_the_one_that_queues_a_sync(
    client: TestClient,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import context
    from app.cli import worker as cli

    monkeypatch.setattr(cli, "open_database", lambda: db)
    monkeypatch.setattr(
        context, "settings", lambda: settings.model_copy(update={"public_url": "http://testserver"})
    )
    cli.trigger_token("org", as_json=True)
    endpoint = orjson.loads(capsys.readouterr().out)
    assert endpoint["connection"] == "org" and endpoint["url"].startswith("http://testserver/")
    response = client.post(
        endpoint["url"], headers={"Authorization": f"Bearer {endpoint['token']}"}
    )
    assert response.status_code == 200, response.text
    assert len(_jobs(db)) == 1
