"""A HubSpot app without a scope: `connections test` and the sync name the scope, and the
streams that need it store nothing (as a Salesforce object the user cannot describe).

Against the sandbox, whose tokens carry scopes and answer 403 MISSING_SCOPES outside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.crypto import SecretBox
from app.core.database import Database
from app.models import Connection, RawRecord, StreamCursor
from app.services.connections.check import check_connection
from app.services.connections.registry import create_connection
from app.services.sync.runs import sync_connection
from sandbox.crm import SandboxServer
from sandbox.crm.hubspot.auth import ALL_SCOPES
from tests.connectors.hubspot.harness import FAST_RETRY
from tests.connectors.hubspot.portal import write_portal
from tests.support.sandbox import hubspot_connection_args, serve

DEALS = "crm.objects.deals.read"
OWNERS = "crm.objects.owners.read"


@pytest.fixture(scope="module")
def portal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_portal(tmp_path_factory.mktemp("portal"), emails=30, future_changes=0)


@pytest.fixture
def portal(portal_dir: Path) -> Iterator[SandboxServer]:
    with serve(portal_dir) as server:
        yield server


def connect(db: Database, box: SecretBox, server: SandboxServer) -> Connection:
    with db.session() as session:
        return create_connection(session, box, name="portal", **hubspot_connection_args(server))


def without(server: SandboxServer, *scopes: str) -> None:
    server.sandbox.hs_tokens.set_app_scopes(ALL_SCOPES - set(scopes))


def test_the_check_names_the_missing_scope_for_each_stream_that_needs_it(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    without(portal, DEALS)
    report = check_connection(connect(db, box, portal), box, FAST_RETRY)
    assert report.authenticated and not report.ok
    refused = {check.stream: check.missing_scopes for check in report.streams if not check.readable}
    # deals, their pipelines, and every stream that carries links to deals
    assert set(refused) == {"pipelines", "deals", "companies", "contacts"} | {
        "emails",
        "meetings",
        "calls",
        "notes",
        "tasks",
    }
    assert all(scopes == [DEALS] for scopes in refused.values())
    owners = next(check for check in report.streams if check.stream == "owners")
    assert owners.readable
    deals = next(check for check in report.streams if check.stream == "deals")
    assert f"lacks the scope {DEALS}" in (deals.error or "")


def test_a_token_without_the_owners_scope_still_logs_in(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    without(portal, OWNERS)
    report = check_connection(connect(db, box, portal), box, FAST_RETRY)
    assert report.authenticated
    assert [(c.stream, c.missing_scopes) for c in report.streams if not c.readable] == [
        ("owners", [OWNERS])
    ]


def test_a_sync_without_a_scope_names_it_and_leaves_nothing_of_the_streams_that_need_it(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    without(portal, DEALS)
    connect(db, box, portal)
    report = sync_connection(db, box, "portal", retry=FAST_RETRY, streams=["owners", "deals"])
    assert report.status == "partial"
    errors = {outcome.stream: outcome.error for outcome in report.streams}
    assert errors["owners"] is None
    assert f"the app lacks the scope {DEALS}" in (errors["deals"] or "")
    assert "add it to the app's scopes" in (errors["deals"] or "")
    with db.sessions() as session:
        streams = set(session.scalars(select(RawRecord.stream).distinct()))
        cursors = set(session.scalars(select(StreamCursor.stream)))
    assert streams == {"owners"} and cursors == {"owners"}
    without(portal)  # the admin grants it: the next run reads the deals
    again = sync_connection(db, box, "portal", retry=FAST_RETRY, streams=["deals"])
    assert again.status == "succeeded"
