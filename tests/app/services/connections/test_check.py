"""`connections test` on both CRMs: it logs in, reads one page of every object, and names what
the connection cannot see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.crypto import SecretBox
from app.core.database import Database
from app.models import Connection
from app.services.connections.check import check_connection
from app.services.connections.registry import create_connection
from connectors.core import RetryPolicy
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from tests.sandbox.crm.export_fixture import write_export
from tests.support.sandbox import hubspot_connection_args, salesforce_connection_args

FAST = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.02, jitter=0.01)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    export = write_export(tmp_path_factory.mktemp("export"))
    config = SandboxConfig(hs_search_per_second=None)
    with SandboxServer(Sandbox.from_export(export, config)) as running:
        yield running


def _connection(db: Database, box: SecretBox, args: dict[str, Any]) -> Connection:
    with db.session() as session:
        return create_connection(session, box, name="crm", **args)


def test_a_healthy_hubspot_portal_is_ready(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    report = check_connection(_connection(db, box, hubspot_connection_args(server)), box, FAST)
    assert report.ok, report
    assert {"deals", "emails", "contacts"} <= {check.stream for check in report.streams}


def test_a_bad_hubspot_token_is_reported_as_a_failed_login(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    args = hubspot_connection_args(server)
    args["secrets"] = {"access_token": "pat-wrong"}
    report = check_connection(_connection(db, box, args), box, FAST)
    assert not report.authenticated and not report.ok
    assert report.error


def test_missing_custom_properties_are_named(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    args = hubspot_connection_args(server, extra_fields={"deals": ["deal_health_score"]})
    report = check_connection(_connection(db, box, args), box, FAST)
    deals = next(check for check in report.streams if check.stream == "deals")
    assert deals.missing_fields == ["deal_health_score"]
    assert not report.ok


def test_a_salesforce_field_hidden_from_the_user_is_named(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    args = salesforce_connection_args(server, extra_fields={"Task": ["Sentiment__c"]})
    report = check_connection(_connection(db, box, args), box, FAST)
    task = next(check for check in report.streams if check.stream == "Task")
    assert task.missing_fields == ["Sentiment__c"]
    assert report.authenticated and not report.ok


def test_an_export_is_ready_when_every_stream_file_reads(
    db: Database, box: SecretBox, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export")
    args = {"settings": {"kind": "export", "path": str(export), "crm": "salesforce"}, "secrets": {}}
    report = check_connection(_connection(db, box, args), box, FAST)
    assert report.ok and report.api_calls == 0
    assert {check.stream for check in report.streams} >= {"Task", "Opportunity"}


def test_an_export_whose_files_cannot_be_read_says_why(
    db: Database, box: SecretBox, tmp_path: Path
) -> None:
    broken = tmp_path / "WE_00D_1.ZIP"
    broken.write_bytes(b"not a zip")
    args = {"settings": {"kind": "export", "path": str(broken)}, "secrets": {}}
    report = check_connection(_connection(db, box, args), box, FAST)
    assert not report.ok and not report.authenticated
    assert report.error is not None and "not a readable zip file" in report.error
