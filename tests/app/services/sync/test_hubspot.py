"""Syncing a HubSpot portal (the sandbox, via hubspot-api-client over loopback) into the raw layer.

Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL. The generated sales history is the
realistic case; the small hand-written portal (tests/connectors/hubspot/portal.py) holds the
edge cases at known ids.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.core.crypto import SecretBox, generate_key
from app.core.database import Database
from app.models import QuarantinedRecord, StreamCursor
from app.services.connections.changes import upsert_connection
from app.services.connections.registry import create_connection
from app.services.sync.runs import SyncReport, sync_connection
from sandbox.crm import SandboxServer
from sandbox.crm.faults import Fault
from tests.connectors.hubspot.harness import FAST_RETRY, mismatches
from tests.connectors.hubspot.portal import email, write_portal
from tests.support.raw_layer import raw_rows
from tests.support.sandbox import hubspot_connection_args, serve

STREAMS = ["owners", "pipelines", "companies", "contacts", "deals"]
STREAMS += ["emails", "meetings", "calls", "notes", "tasks"]
OBJECTS = STREAMS[2:]


@pytest.fixture(scope="session")
def portal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_portal(tmp_path_factory.mktemp("portal"), emails=250, future_changes=5)


@pytest.fixture(scope="session")
def big_portal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big-portal")
    return write_portal(root, emails=10_300, future_changes=10_250)


@pytest.fixture
def history(sales_history: Path) -> Iterator[SandboxServer]:
    with serve(sales_history) as server:
        yield server


@pytest.fixture
def portal(portal_dir: Path) -> Iterator[SandboxServer]:
    with serve(portal_dir) as server:
        yield server


def connect(
    db: Database, box: SecretBox, server: SandboxServer, name: str = "portal", **settings: Any
) -> str:
    """A connection to the sandbox that reads the recycle bin every run (the default is hourly),
    so that each run's result can be compared with the sandbox as a whole."""
    settings = {"search_per_second": 100, "deletions_every_minutes": 0, **settings}
    with db.session() as session:
        upsert_connection(session, box, name=name, **hubspot_connection_args(server, **settings))
    return name


def sync(db: Database, box: SecretBox, name: str = "portal", **kwargs: Any) -> SyncReport:
    return sync_connection(db, box, name, retry=FAST_RETRY, **kwargs)


def stream_calls(report: SyncReport) -> dict[str, int]:
    return {o.stream: o.api_calls for o in report.streams}


def test_a_first_sync_equals_the_sandbox_at_the_minimum_of_calls(
    db: Database, box: SecretBox, history: SandboxServer
) -> None:
    report = sync(db, box, connect(db, box, history))
    assert report.status == "succeeded", report
    assert mismatches(raw_rows(db, "portal"), history.sandbox, STREAMS) == []
    hub = history.sandbox.hubspot
    minimum = 0
    for stream in OBJECTS:
        page = 50 if stream == "deals" else 100
        live = sum(not o.archived for o in hub.objects[stream].values())
        minimum += math.ceil(live / page) + math.ceil((len(hub.objects[stream]) - live) / page)
    minimum += 1 + 1  # owners (500 a page) and pipelines
    constant = 3 * len(STREAMS)  # properties, the probe, an empty last archived page
    assert report.api_calls <= 1.05 * minimum + constant
    assert report.api_calls - minimum <= 2 * len(OBJECTS) + len(OBJECTS) + 1


def test_an_incremental_sync_reads_what_changed_and_a_sweep_completes_the_links(
    db: Database, box: SecretBox, history: SandboxServer
) -> None:
    name = connect(db, box, history)
    sync(db, box, name)
    before = raw_rows(db, "portal")
    history.sandbox.advance(timedelta(days=10))
    report = sync(db, box, name)
    assert report.status == "succeeded", report
    after = raw_rows(db, "portal")
    changed = {key for key, row in after.items() if before.get(key) != row}
    assert changed
    by_stream = {o.stream: o for o in report.streams}
    for stream in OBJECTS:
        touched = sum(1 for key in changed if key[0] == stream)
        result = by_stream[stream]
        assert result.new + result.changed + result.deleted <= touched
        # searches at 200, history reads at 50, one association read per type per 1,000
        read = result.read
        links = {"deals": 2, "contacts": 2, "companies": 2}.get(stream, 3)
        floor = math.ceil(read / 200) + (math.ceil(read / 50) if stream == "deals" else 0)
        floor += links * math.ceil(read / 1000)
        assert result.api_calls <= 1.05 * floor + 2 + 1, (stream, result)
    # links made to records that did not change arrive with the next association sweep
    connect(db, box, history, association_sweep_hours=1e-9)
    swept = sync(db, box, name)
    assert swept.status == "succeeded", swept
    assert mismatches(raw_rows(db, "portal"), history.sandbox, STREAMS) == []


def test_a_stopped_sync_resumes_and_ends_equal_to_a_clean_one(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    pages: list[str] = []
    stopped = connect(db, box, portal, "stopped")
    first = sync(
        db,
        box,
        stopped,
        streams=["deals", "emails"],
        on_page=lambda result: pages.append(result.stream),
        should_stop=lambda: pages.count("emails") >= 2,
    )
    assert first.status == "partial"
    assert sum(1 for key in raw_rows(db, stopped) if key[0] == "emails") == 200
    with db.sessions() as session:
        cursor = session.scalars(select(StreamCursor).where(StreamCursor.stream == "emails")).one()
        assert cursor.last_value is None and cursor.state["resume"]["walk"]["after"]
    assert sync(db, box, stopped, streams=["deals", "emails"]).status == "succeeded"
    clean = connect(db, box, portal, "clean")
    assert sync(db, box, clean, streams=["deals", "emails"]).status == "succeeded"
    assert raw_rows(db, stopped) == raw_rows(db, clean)


KILLABLE = """
import sys
from app.core.crypto import SecretBox
from app.core.database import Database
from app.services.sync.runs import sync_connection
url, name = sys.argv[1:3]
sync_connection(Database(url), SecretBox([sys.stdin.readline().strip().encode()]), name)
"""


def test_a_sync_killed_mid_walk_resumes_and_ends_equal_to_a_clean_one(
    db: Database, portal: SandboxServer
) -> None:
    key = generate_key()
    box = SecretBox([key.encode()])
    killed = connect(db, box, portal, "killed")
    slow = Fault("slow", api="hubspot", path="/crm/v3/objects/emails", times=None, delay=0.2)
    portal.sandbox.faults.add(slow)
    url = db.engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, url, killed], stdin=subprocess.PIPE, text=True
    )
    assert child.stdin is not None
    child.stdin.write(key + "\n")
    child.stdin.close()
    deadline = time.monotonic() + 30
    while sum(1 for k in raw_rows(db, killed) if k[0] == "emails") < 100:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    stored = sum(1 for k in raw_rows(db, killed) if k[0] == "emails")
    assert 100 <= stored < 250  # killed in the middle of the emails walk
    portal.sandbox.faults.clear()
    assert sync(db, box, killed).status == "succeeded"
    clean = connect(db, box, portal, "clean")
    assert sync(db, box, clean).status == "succeeded"
    assert raw_rows(db, killed) == raw_rows(db, clean)


def test_more_than_ten_thousand_changes_are_all_read(
    db: Database, box: SecretBox, big_portal_dir: Path
) -> None:
    with serve(big_portal_dir, hs_ten_second_max=1_000_000) as server:
        name = connect(db, box, server)
        assert sync(db, box, name, streams=["emails"]).status == "succeeded"
        server.sandbox.advance(timedelta(hours=4))  # 10,250 emails change, one is created
        report = sync(db, box, name, streams=["emails"])
        assert report.status == "succeeded", report
        result = report.streams[0]
        # 10,249 through search, the one in the recycle bin through the archived list
        assert (result.new, result.changed) == (1, 10_250)
        assert mismatches(raw_rows(db, "portal"), server.sandbox, ["emails"]) == []
        read = result.read
        assert result.api_calls <= 1.05 * (math.ceil(read / 200) + 3 * math.ceil(read / 1000)) + 2
        # a bulk update: 1,000 records at one and the same millisecond (more than a page; the
        # same with more than 10,000: tests/connectors/hubspot/test_keyset_search.py)
        now = server.sandbox.now()
        for n in range(1, 1_001):
            server.sandbox.hubspot.update("emails", email(n), {"hs_email_text": "bulk"}, now)
        bulk = sync(db, box, name, streams=["emails"])
        assert bulk.streams[0].changed == 1_000  # one of them in the recycle bin
        assert mismatches(raw_rows(db, "portal"), server.sandbox, ["emails"]) == []


@pytest.mark.parametrize("kind", ["rate_limit", "server_error", "unavailable", "reset", "slow"])
def test_transient_faults_are_retried_and_the_result_is_complete(
    db: Database, box: SecretBox, portal: SandboxServer, kind: Any
) -> None:
    retry_after = None if kind in ("rate_limit", "server_error") else 0.01
    for path in ("/crm/v3/objects/emails", "/search", "/crm/v4/associations"):
        fault = Fault(kind, api="hubspot", path=path, every=3, times=2, retry_after=retry_after)
        portal.sandbox.faults.add(replace(fault, delay=0.05))
    name = connect(db, box, portal)
    report = sync(db, box, name)
    assert report.status == "succeeded", report
    portal.sandbox.advance(timedelta(minutes=30))  # five emails change
    assert sync(db, box, name).status == "succeeded"
    assert mismatches(raw_rows(db, "portal"), portal.sandbox, ["emails", "deals"]) == []
    assert sum(f.fired for f in portal.sandbox.faults.active()) >= 4


def test_an_expired_token_stops_the_run_with_a_clear_error_and_keeps_what_was_stored(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    portal.sandbox.faults.add(
        Fault("expire_session", api="hubspot", path="/crm/v3/objects/emails", after=2)
    )
    name = connect(db, box, portal)
    report = sync(db, box, name, streams=["emails"])
    assert report.status == "failed"
    assert "HubSpot rejected the access token (EXPIRED_AUTHENTICATION" in (report.error or "")
    assert sum(1 for key in raw_rows(db, "portal") if key[0] == "emails") == 100
    assert sync(db, box, name, streams=["emails"]).status == "succeeded"
    assert mismatches(raw_rows(db, "portal"), portal.sandbox, ["emails"]) == []


def test_the_daily_limit_stops_the_run_and_the_next_run_resumes(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    portal.sandbox.faults.add(
        Fault("daily_limit", api="hubspot", path="/crm/v3/objects/emails", after=2)
    )
    name = connect(db, box, portal)
    stopped = sync(db, box, name, streams=["emails"])
    assert stopped.status == "failed"
    assert "HubSpot daily API limit reached" in (stopped.error or "")
    assert sum(1 for key in raw_rows(db, "portal") if key[0] == "emails") == 100
    resumed = sync(db, box, name, streams=["emails"])
    assert resumed.status == "succeeded"
    assert resumed.api_calls == 2 + 1  # the rest of the walk, the archived list
    assert mismatches(raw_rows(db, "portal"), portal.sandbox, ["emails"]) == []


def test_the_run_stops_at_the_configured_share_of_the_daily_quota(
    db: Database, box: SecretBox, portal_dir: Path
) -> None:
    with serve(portal_dir, hs_daily_max=20) as server:
        name = connect(db, box, server, quota_share=0.5)
        report = sync(db, box, name)
        assert report.status == "partial"
        assert "quota" in (report.error or "") and "10/20" in (report.error or "")
        assert len(report.streams) < len(STREAMS)
        server.sandbox.reset_accounting()  # a new day
        server.sandbox.config.hs_daily_max = 1_000
        assert sync(db, box, name).status == "succeeded"
        assert mismatches(raw_rows(db, "portal"), server.sandbox, STREAMS) == []


def test_malformed_records_are_quarantined_and_the_sync_goes_on(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    for n in (7, 8):
        broken = portal.sandbox.hubspot.objects["emails"][email(n)]
        broken.properties["hs_lastmodifieddate"] = None
        broken.updated_at = "soon"
    name = connect(db, box, portal)
    report = sync(db, box, name, streams=["emails"])
    assert report.status == "succeeded"
    assert report.streams[0].quarantined == 2
    with db.sessions() as session:
        rows = session.scalars(select(QuarantinedRecord)).all()
        assert sorted(r.external_id or "" for r in rows) == [email(7), email(8)]
        assert all("unreadable hs_lastmodifieddate" in r.reason for r in rows)
    assert sum(1 for key in raw_rows(db, "portal") if key[0] == "emails") == 248


def test_wrong_credentials_fail_the_run_and_store_nothing(
    db: Database, box: SecretBox, portal: SandboxServer
) -> None:
    with db.session() as session:
        info = portal.connection_info()["hubspot"]
        create_connection(
            session,
            box,
            name="portal",
            settings={"kind": "hubspot", "base_url": info["base_url"]},
            secrets={"access_token": "pat-na1-wrong"},
        )
    report = sync(db, box, "portal")
    assert report.status == "failed"
    assert "HubSpot rejected the access token (INVALID_AUTHENTICATION" in (report.error or "")
    assert raw_rows(db, "portal") == {}
