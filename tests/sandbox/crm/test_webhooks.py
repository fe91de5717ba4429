"""Webhooks: changes through the API and through the clock reach a configured URL, signed v3
and, beside it, with HubSpot's legacy v1 signature."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot.utils.signature import Signature

from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.hubspot.webhooks import sign_v1


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body.decode()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hubspot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [event for request in self.requests for event in json.loads(request["body"])]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


@pytest.fixture(scope="module")
def sandbox(export_dir: Path, receiver: Receiver) -> Sandbox:
    return Sandbox.from_export(
        export_dir, SandboxConfig(webhook_url=receiver.url, hs_search_per_second=None)
    )


def test_api_writes_are_posted_with_a_valid_v3_signature(
    server: SandboxServer, sandbox: Sandbox, receiver: Receiver
) -> None:
    headers = {"Authorization": f"Bearer {sandbox.config.hs_access_token}"}
    answer = requests.patch(
        f"{server.hubspot_url}/crm/v3/objects/deals/401",
        json={"properties": {"amount": "4200"}},
        headers=headers,
        timeout=5,
    )
    assert answer.status_code == 200
    assert sandbox.webhooks.wait_idle()
    [request] = receiver.requests
    assert Signature.is_valid(
        signature=request["headers"]["X-HubSpot-Signature-v3"],
        client_secret=sandbox.config.hs_client_secret,
        request_body=request["body"],
        http_uri=receiver.url,
        signature_version="v3",
        timestamp=request["headers"]["X-HubSpot-Request-Timestamp"],
    )
    assert request["headers"]["X-HubSpot-Signature-Version"] == "v1"
    assert Signature.is_valid(
        signature=request["headers"]["X-HubSpot-Signature"],
        client_secret=sandbox.config.hs_client_secret,
        request_body=request["body"],
        signature_version="v1",
    )
    [event] = json.loads(request["body"])
    assert event["subscriptionType"] == "deal.propertyChange"
    assert (event["objectId"], event["propertyName"], event["propertyValue"]) == (
        401,
        "amount",
        "4200",
    )
    assert event["portalId"] == sandbox.config.hs_portal_id


def test_clock_driven_changes_are_posted_too(sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.requests.clear()
    sandbox.advance(hours=2)
    assert sandbox.webhooks.wait_idle()
    kinds = {
        (e["subscriptionType"], e.get("objectTypeId"), e["objectId"]) for e in receiver.events()
    }
    assert ("object.creation", "0-49", 599) in kinds
    assert ("deal.propertyChange", None, 400) in kinds


def test_the_v1_signature_is_hubspots_documented_one() -> None:
    body = (
        b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
        b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
        b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
    )
    secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
    expected = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    assert sign_v1(secret, body) == expected
