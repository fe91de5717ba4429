"""HubSpot OAuth tokens are refreshed once, stored sealed, and shared by runs and workers.

Against the sandbox's `POST /oauth/v1/token` with the unmodified hubspot-api-client; runs on
SQLite, and on PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.core.crypto import Credentials, SecretBox
from app.core.database import Database
from app.models import Connection
from app.services.connections.hubspot_tokens import EXPIRES_AT, StoredTokens
from app.services.connections.registry import create_connection, hubspot_client, parse_settings
from app.services.sync.runs import SyncReport, sync_connection
from app.services.writeback.crm_fields import setup_fields
from connectors.core import ApiBudget, StreamResult
from connectors.hubspot import HubSpotAuth
from sandbox.crm import SandboxServer
from sandbox.crm.faults import Fault
from tests.connectors.hubspot.harness import FAST_RETRY
from tests.connectors.hubspot.portal import write_portal
from tests.support.sandbox import serve


@pytest.fixture(scope="module")
def portal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_portal(tmp_path_factory.mktemp("portal"), emails=250, future_changes=0)


@pytest.fixture
def portal(portal_dir: Path) -> Iterator[SandboxServer]:
    with serve(portal_dir) as server:
        yield server


def connect(db: Database, box: SecretBox, server: SandboxServer) -> int:
    """An OAuth connection: the app's client id and secret and a refresh token, no access token."""
    info = server.connection_info()["hubspot"]
    with db.session() as session:
        connection = create_connection(
            session,
            box,
            name="portal",
            settings={
                "kind": "hubspot",
                "base_url": info["base_url"],
                "client_id": info["client_id"],
                "search_per_second": 100,
            },
            secrets={
                "refresh_token": info["refresh_token"],
                "client_secret": info["client_secret"],
            },
        )
        return connection.id


def stored(db: Database, box: SecretBox) -> Credentials:
    with db.sessions() as session:
        sealed = session.scalars(select(Connection.credentials_sealed)).one()
    return box.open(sealed)


def sync(db: Database, box: SecretBox, **kwargs: Any) -> SyncReport:
    return sync_connection(db, box, "portal", retry=FAST_RETRY, **kwargs)


def token_calls(server: SandboxServer) -> int:
    return server.sandbox.calls["hubspot.oauth_token"]


def test_a_run_refreshes_once_and_stores_the_token_sealed_with_its_expiry(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    connect(db, box, portal)
    assert sync(db, box, streams=["owners", "emails"]).status == "succeeded"
    assert token_calls(portal) == 1
    credentials = stored(db, box)
    expires = datetime.fromisoformat(credentials[EXPIRES_AT])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    with db.sessions() as session:
        sealed = session.scalars(select(Connection.credentials_sealed)).one()
    assert credentials["access_token"] not in sealed


def test_the_next_run_reuses_the_stored_token_without_a_token_call(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    connect(db, box, portal)
    sync(db, box, streams=["owners"])
    token = stored(db, box)["access_token"]
    assert sync(db, box, streams=["owners", "emails"]).status == "succeeded"
    assert token_calls(portal) == 1
    assert stored(db, box)["access_token"] == token


def test_a_token_the_portal_says_expired_is_refreshed_once_and_the_run_goes_on(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    connect(db, box, portal)
    sync(db, box, streams=["owners"])
    first = stored(db, box)["access_token"]
    portal.sandbox.advance(minutes=31)  # HubSpot's tokens live 30 minutes
    assert sync(db, box, streams=["owners", "emails"]).status == "succeeded"
    assert token_calls(portal) == 2
    assert stored(db, box)["access_token"] != first


def test_a_token_stored_as_expired_is_refreshed_before_the_first_call(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    connection_id = connect(db, box, portal)
    sync(db, box, streams=["owners"])
    with db.session() as session:
        row = session.get_one(Connection, connection_id)
        values = dict(box.open(row.credentials_sealed))
        values[EXPIRES_AT] = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
        row.credentials_sealed = box.seal(values)
    portal.sandbox.calls.reset()
    assert sync(db, box, streams=["owners"]).status == "succeeded"
    assert token_calls(portal) == 1
    assert portal.sandbox.calls["hubspot.owners_list"] == 2  # no call was sent to fail first


def test_a_401_mid_sync_refreshes_once_and_the_stream_completes(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    connect(db, box, portal)
    sync(db, box, streams=["owners"])
    portal.sandbox.faults.add(
        Fault("expire_session", api="hubspot", path="/crm/v3/objects/emails", after=2)
    )
    report = sync(db, box, streams=["emails"])
    assert report.status == "succeeded", report
    assert report.streams[0].read == 250
    assert token_calls(portal) == 2


def test_a_rotated_refresh_token_is_stored_as_soon_as_it_arrives(
    db: Database, box: SecretBox, portal_dir: Path
) -> None:
    with serve(portal_dir, hs_rotate_refresh_tokens=True) as server:
        original = server.connection_info()["hubspot"]["refresh_token"]
        connect(db, box, server)
        during: list[str] = []

        def look(_result: StreamResult) -> None:
            during.append(stored(db, box)["refresh_token"])

        assert sync(db, box, streams=["emails"], on_page=look).status == "succeeded"
        rotated = stored(db, box)["refresh_token"]
        assert rotated != original
        assert during[0] == rotated  # stored before the first page, not at the end
        assert server.sandbox.hs_tokens.refresh_tokens == {rotated}
        server.sandbox.advance(minutes=31)
        assert sync(db, box, streams=["owners"]).status == "succeeded"  # the rotated one works


def test_two_workers_refreshing_at_once_spend_the_refresh_token_once(
    db: Database, box: SecretBox, portal_dir: Path
) -> None:
    with serve(portal_dir, hs_rotate_refresh_tokens=True) as server:
        connection_id = connect(db, box, server)
        credentials = stored(db, box)  # both workers start from the same stored secrets
        with db.sessions() as session:
            settings = parse_settings(session.get_one(Connection, connection_id).settings)
        assert settings.kind == "hubspot"
        workers = [
            hubspot_client(
                settings,
                credentials,
                ApiBudget(),
                FAST_RETRY,
                StoredTokens(db, box, connection_id),
            )
            for _ in range(2)
        ]
        for worker in workers:
            assert worker.owners_page(limit=1, after=None, archived=False)["results"]
        assert token_calls(server) == 1  # the second worker took the first one's token
        assert workers[0].auth.access_token == workers[1].auth.access_token


def test_tokens_never_appear_in_logs_or_reprs(
    db: Database, box: SecretBox, portal: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    connect(db, box, portal)
    info = portal.connection_info()["hubspot"]
    with caplog.at_level(logging.DEBUG):
        sync(db, box, streams=["owners"])
        portal.sandbox.advance(minutes=31)
        sync(db, box, streams=["owners"])
    credentials = stored(db, box)
    assert "refreshed and stored" in caplog.text
    auth = HubSpotAuth(
        access_token=credentials["access_token"],
        refresh_token=credentials["refresh_token"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
    )
    secrets = [credentials["access_token"], credentials["refresh_token"], info["client_secret"]]
    for text in (caplog.text, repr(auth), repr(credentials)):
        assert not [secret for secret in secrets if secret in text]


def test_write_back_stores_the_token_it_refreshes_and_the_sync_reuses_it(
    db: Database, box: SecretBox, portal_dir: Path
) -> None:
    with serve(portal_dir, hs_rotate_refresh_tokens=True) as server:
        connect(db, box, server)
        original = stored(db, box)["refresh_token"]
        report = setup_fields(db, box, "portal", mode="check")
        assert report.api_calls >= 1
        assert token_calls(server) == 1
        credentials = stored(db, box)
        assert credentials["refresh_token"] != original  # the rotated one is not lost
        assert sync(db, box, streams=["owners"]).status == "succeeded"
        assert token_calls(server) == 1
