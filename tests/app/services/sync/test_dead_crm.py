"""A CRM that cannot be reached is a clear, quick failure: a sync, a connection test and a
write-back fields check end with one line naming the host and the cause; a sync fails once
(its login), not once per stream, and the next run simply tries again."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sqlalchemy import select

from app.core.crypto import SecretBox
from app.core.database import Database
from app.models import SyncRun
from app.services.connections.check import check_connection
from app.services.connections.registry import create_connection, get_connection
from app.services.sync.runs import sync_connection
from app.services.writeback.crm_fields import setup_fields

CRMS = ["salesforce", "hubspot"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def dead_connection(db: Database, box: SecretBox, crm: str, host: str) -> str:
    """A connection of `crm` whose every URL points at `host`, where no CRM answers."""
    args: dict[str, Any]
    if crm == "salesforce":
        args = {
            "settings": {
                "kind": "salesforce",
                "auth_flow": "client_credentials",
                "token_url": f"https://{host}/services/oauth2/token",
                "client_id": "connected-app",
            },
            "secrets": {"client_secret": "secret"},
        }
    else:
        args = {
            "settings": {"kind": "hubspot", "base_url": f"http://{host}", "portal_id": "1"},
            "secrets": {"access_token": "pat-na1-token"},
        }
    with db.session() as session:
        create_connection(session, box, name=f"dead-{crm}", **args)
    return f"dead-{crm}"


@pytest.fixture(params=["refused", "dns"])
def dead_host(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Where nothing answers, and the words the failure names it by."""
    if request.param == "refused":
        host = f"127.0.0.1:{closed_port()}"
        return host, "connection refused"
    return "crm.invalid", "crm.invalid does not resolve"


@pytest.mark.parametrize("crm", CRMS)
def test_a_sync_fails_once_with_one_line_naming_host_and_cause(
    db: Database, box: SecretBox, crm: str, dead_host: tuple[str, str]
) -> None:
    host, cause = dead_host
    name = dead_connection(db, box, crm, host)
    report = sync_connection(db, box, name)
    assert report.status == "failed"
    assert len(report.streams) == 1  # the first stream's login; no stream after it tried again
    assert report.error is not None and "\n" not in report.error
    assert host in report.error and cause in report.error
    with db.sessions() as session:
        [run] = session.scalars(select(SyncRun)).all()
    assert run.status == "failed" and run.error == report.error


@pytest.mark.parametrize("crm", CRMS)
def test_the_next_run_tries_again(db: Database, box: SecretBox, crm: str) -> None:
    name = dead_connection(db, box, crm, f"127.0.0.1:{closed_port()}")
    first = sync_connection(db, box, name)
    second = sync_connection(db, box, name)
    assert (first.status, second.status) == ("failed", "failed")
    assert second.run_id != first.run_id and second.error == first.error


@pytest.mark.parametrize("crm", CRMS)
def test_a_connection_test_answers_not_ok_naming_host_and_cause(
    db: Database, box: SecretBox, crm: str, dead_host: tuple[str, str]
) -> None:
    host, cause = dead_host
    name = dead_connection(db, box, crm, host)
    with db.sessions() as session:
        connection = get_connection(session, name)
    report = check_connection(connection, box, database=db)
    assert not report.ok and not report.authenticated
    assert report.error is not None and host in report.error and cause in report.error


@pytest.mark.parametrize("crm", CRMS)
def test_a_write_back_fields_check_answers_not_ok_naming_host_and_cause(
    db: Database, box: SecretBox, crm: str, dead_host: tuple[str, str]
) -> None:
    host, cause = dead_host
    name = dead_connection(db, box, crm, host)
    report = setup_fields(db, box, name, mode="check")
    assert not report.ok
    [problem] = report.problems
    assert host in problem and cause in problem
