"""Syncing a Salesforce org (the sandbox over HTTPS, via simple-salesforce) into the raw layer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.core.crypto import SecretBox
from app.core.database import Database
from app.models import RawRecord, StreamCursor, SyncRun, SyncRunStream
from app.services.connections.registry import create_connection
from app.services.sync.runs import sync_connection
from connectors.core import ApiBudget, RetryPolicy
from connectors.salesforce import SalesforceAuth, SalesforceClient
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer
from sandbox.crm.faults import Fault
from tests.sandbox.crm.export_fixture import TASK_COUNT, write_export
from tests.support.sandbox import salesforce_connection_args

FAST_RETRY = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01)
STREAMS = 11


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"))


@pytest.fixture
def server(export_dir: Path) -> Iterator[SandboxServer]:
    sandbox = Sandbox.from_export(export_dir, SandboxConfig())
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def acme(db: Database, box: SecretBox, server: SandboxServer) -> str:
    with db.session() as session:
        create_connection(session, box, name="acme", **salesforce_connection_args(server))
    return "acme"


def _raw(db: Database, stream: str | None = None) -> dict[tuple[str, str], RawRecord]:
    with db.sessions() as session:
        query = select(RawRecord)
        if stream:
            query = query.where(RawRecord.stream == stream)
        return {(row.stream, row.external_id): row for row in session.scalars(query)}


def _sync(db: Database, box: SecretBox, **kwargs: Any) -> Any:
    return sync_connection(db, box, "acme", retry=FAST_RETRY, **kwargs)


def test_a_first_sync_loads_every_record_of_every_stream(
    db: Database, box: SecretBox, acme: str, server: SandboxServer
) -> None:
    report = _sync(db, box)
    assert report.status == "succeeded", report
    tasks = _raw(db, "Task")
    assert len(tasks) == TASK_COUNT
    assert sum(row.deleted for row in tasks.values()) == 1
    stored = next(iter(tasks.values()))
    assert stored.payload["attributes"]["type"] == "Task"
    assert {outcome.stream for outcome in report.streams} == {
        "User", "Account", "Contact", "Lead", "Opportunity", "OpportunityHistory",
        "OpportunityContactRole", "OpportunityStage", "Task", "Event", "EmailMessage",
    }  # fmt: skip
    # one login, a query per stream in pages of 2,000 records, and where the org lacks an
    # optional field (8 of the 11 objects) one describe and the query again without it
    # (tests/connectors/salesforce/test_calls.py counts each stream's calls)
    task_pages = -(-TASK_COUNT // 2000)
    assert report.api_calls == 1 + (STREAMS - 1) + task_pages + 2 * 8
    with db.sessions() as session:
        run = session.scalars(select(SyncRun)).one()
        assert (run.status, run.api_calls) == ("succeeded", report.api_calls)
        task_row = session.get(SyncRunStream, (run.id, "Task"))
        assert task_row is not None
        assert (task_row.records_read, task_row.records_new) == (TASK_COUNT, TASK_COUNT - 1)
        assert task_row.records_deleted == 1
        rows = session.scalars(select(SyncRunStream)).all()
        assert all(row.bytes_received > 0 for row in rows)
        assert run.bytes_received == sum(row.bytes_received for row in rows)


def test_an_incremental_sync_rereads_only_the_lookback_and_changes_nothing(
    db: Database, box: SecretBox, acme: str
) -> None:
    _sync(db, box)
    before = {key: row.payload_hash for key, row in _raw(db).items()}
    report = _sync(db, box)
    assert report.status == "succeeded"
    assert all(o.new == o.changed == 0 for o in report.streams)
    assert {key: row.payload_hash for key, row in _raw(db).items()} == before


def test_an_incremental_sync_reuses_the_fields_described_by_the_last_run(
    db: Database, box: SecretBox, acme: str, server: SandboxServer
) -> None:
    _sync(db, box)
    server.sandbox.calls.reset()
    report = _sync(db, box)
    assert report.status == "succeeded"
    assert server.sandbox.calls["salesforce.describe"] == 0
    # per stream: one query page and the deleted-records feed; plus one login
    assert report.api_calls == 1 + 2 * STREAMS


def test_changes_in_the_crm_arrive_with_the_next_incremental_sync(
    db: Database, box: SecretBox, acme: str, server: SandboxServer
) -> None:
    _sync(db, box)
    server.sandbox.advance(timedelta(hours=2))
    report = _sync(db, box)
    by_stream = {o.stream: o for o in report.streams}
    assert by_stream["Task"].new == 1
    assert by_stream["Opportunity"].changed == 1
    opportunities = [row.payload for row in _raw(db, "Opportunity").values()]
    assert "Proposal" in {payload["StageName"] for payload in opportunities}


def test_a_stopped_sync_resumes_and_ends_equal_to_a_clean_one(
    db: Database, box: SecretBox, acme: str
) -> None:
    pages_seen: list[str] = []

    def stop_after_first_task_page() -> bool:
        return pages_seen.count("Task") >= 1

    first = _sync(
        db,
        box,
        streams=["Task"],
        on_page=lambda result: pages_seen.append(result.stream),
        should_stop=stop_after_first_task_page,
    )
    assert first.status == "partial"
    assert len(_raw(db, "Task")) == 2000
    with db.sessions() as session:
        cursor = session.scalars(select(StreamCursor).where(StreamCursor.stream == "Task")).one()
        assert cursor.last_value is not None
    resumed = _sync(db, box, streams=["Task"])
    assert resumed.status == "succeeded"
    assert len(_raw(db, "Task")) == TASK_COUNT


def test_an_expired_session_mid_query_is_renewed_transparently(
    db: Database, box: SecretBox, acme: str, server: SandboxServer
) -> None:
    server.sandbox.faults.add(Fault("expire_session", api="salesforce", path="/query/", after=1))
    report = _sync(db, box, streams=["Task"])
    assert report.status == "succeeded"
    assert len(_raw(db, "Task")) == TASK_COUNT


@pytest.mark.parametrize("kind", ["server_error", "unavailable", "reset", "rate_limit"])
def test_transient_faults_are_retried(
    db: Database, box: SecretBox, acme: str, server: SandboxServer, kind: str
) -> None:
    fault = Fault(kind, api="salesforce", path="/query", times=2, retry_after=0.01)  # type: ignore[arg-type]
    server.sandbox.faults.add(fault)
    report = _sync(db, box, streams=["Task"])
    assert report.status == "succeeded", report
    assert len(_raw(db, "Task")) == TASK_COUNT


def test_the_daily_limit_stops_the_run_cleanly_and_the_next_run_resumes(
    db: Database, box: SecretBox, acme: str, server: SandboxServer
) -> None:
    # the first query is refused (this org lacks optional Task fields), the second answers
    # the first page, the third meets the limit
    server.sandbox.faults.add(Fault("daily_limit", api="salesforce", path="/query", after=2))
    stopped = _sync(db, box, streams=["Task"])
    assert stopped.status in ("failed", "partial")
    assert "daily API limit" in (stopped.error or "")
    assert len(_raw(db, "Task")) == 2000
    resumed = _sync(db, box, streams=["Task"])
    assert resumed.status == "succeeded"
    assert len(_raw(db, "Task")) == TASK_COUNT


def test_stopping_at_the_configured_quota_share(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    server.sandbox.config.sf_daily_api_max = 20
    with db.session() as session:
        args = salesforce_connection_args(server, quota_share=0.5)
        create_connection(session, box, name="acme", **args)
    report = _sync(db, box)
    assert report.status == "partial"
    assert "quota" in (report.error or "")
    assert len(report.streams) < STREAMS
    # the org's quota as the CRM reported it is kept with the run (the connections page)
    assert report.quota_limit == 20 and report.quota_used is not None
    assert report.quota_used >= 10
    with db.sessions() as session:
        run = session.scalars(select(SyncRun)).one()
        assert (run.quota_used, run.quota_limit) == (report.quota_used, 20)


def test_wrong_credentials_fail_the_run_with_a_clear_error(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    with db.session() as session:
        args = salesforce_connection_args(server)
        args["secrets"] = {"client_secret": "wrong"}
        create_connection(session, box, name="acme", **args)
    report = _sync(db, box)
    assert report.status == "failed"
    assert "Salesforce refused the client_credentials login" in (report.error or "")
    assert _raw(db) == {}


def test_a_custom_field_missing_from_the_org_is_reported_by_name(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    with db.session() as session:
        args = salesforce_connection_args(server, extra_fields={"Task": ["Sentiment__c"]})
        create_connection(session, box, name="acme", **args)
    report = _sync(db, box, streams=["Task"])
    assert report.status == "failed"
    assert "Task has no field(s) Sentiment__c" in (report.streams[0].error or "")


def test_large_first_loads_use_bulk_and_store_the_same_payloads_as_rest(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    with db.session() as session:
        args = salesforce_connection_args(server, bulk_threshold=1000, bulk_poll_seconds=0.05)
        create_connection(session, box, name="acme", **args)
    bulk = _sync(db, box)
    assert bulk.status == "succeeded", bulk
    tasks = {o.stream: o for o in bulk.streams}["Task"]
    assert tasks.read == TASK_COUNT
    with db.sessions() as session:
        cursor = session.scalars(select(StreamCursor).where(StreamCursor.stream == "Task")).one()
        assert cursor.last_value is not None
    # a REST full read of the same org finds nothing to change: the payloads are identical
    rest = _sync(db, box, full=True)
    by_stream = {o.stream: o for o in rest.streams}
    assert by_stream["Task"].changed == 0, "bulk and REST payloads must be identical"
    assert by_stream["Task"].new == 0


def test_a_record_deleted_in_the_crm_is_soft_deleted_and_keeps_its_payload(
    db: Database, box: SecretBox, acme: str, server: SandboxServer
) -> None:
    _sync(db, box, streams=["Task"])
    live = [row for row in _raw(db, "Task").values() if not row.deleted]
    victim = live[0]
    info = server.connection_info()["salesforce"]
    auth = SalesforceAuth(
        "client_credentials", info["token_url"], info["client_id"], info["client_secret"]
    )
    client = SalesforceClient(auth, ApiBudget(), ca_file=info["ca_file"])
    client.call(lambda sf: sf.Task.delete(victim.external_id))
    client.close()
    server.sandbox.calls.reset()
    report = _sync(db, box, streams=["Task"])
    assert report.streams[0].deleted == 1
    assert server.sandbox.calls["salesforce.deleted"] == 1, "the deleted-records feed is read"
    stored = _raw(db, "Task")[("Task", victim.external_id)]
    assert stored.deleted is True
    assert stored.payload["Subject"] == victim.payload["Subject"]


def test_deletions_are_asked_for_since_the_last_check_not_since_the_newest_record(
    db: Database, box: SecretBox, acme: str, server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Users rarely change: their newest record is months old, yet the run before this one
    read every deletion up to its start, so the deleted-records feed has no gap to report."""
    _sync(db, box)
    server.sandbox.advance(days=3)
    started = datetime.now(UTC)
    with caplog.at_level(logging.WARNING, logger="connectors.salesforce.reader"):
        report = _sync(db, box)
    assert report.status == "succeeded"
    assert not [r for r in caplog.records if "cannot be seen" in r.getMessage()]
    user = _cursor(db, "User")
    assert user.last_value is not None
    assert server.sandbox.now() - user.last_value > timedelta(days=30)
    checked = datetime.fromisoformat(user.state["resume"]["deletions_checked_at"])
    assert checked >= started - timedelta(seconds=1)


def test_a_gap_longer_than_the_deleted_records_feed_is_reported(
    db: Database, box: SecretBox, acme: str, caplog: pytest.LogCaptureFixture
) -> None:
    _sync(db, box, streams=["User"])
    user = _cursor(db, "User")
    resume = dict(user.state["resume"])
    resume["deletions_checked_at"] = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    with db.session() as session:
        session.execute(
            update(StreamCursor)
            .where(StreamCursor.stream == "User")
            .values(state={"resume": resume})
        )
    with caplog.at_level(logging.WARNING, logger="connectors.salesforce.reader"):
        _sync(db, box, streams=["User"])
    assert [r for r in caplog.records if "cannot be seen" in r.getMessage()]


def _cursor(db: Database, stream: str) -> StreamCursor:
    with db.sessions() as session:
        return session.scalars(select(StreamCursor).where(StreamCursor.stream == stream)).one()


def test_a_bulk_job_failing_while_the_others_run_fails_its_stream_alone(
    db: Database, box: SecretBox, server: SandboxServer
) -> None:
    """The first load's jobs run side by side; Salesforce failing one of them fails that
    stream only: the others store every record and move their cursors, the failed one stores
    nothing and keeps its cursor, and the next run loads it, each record once."""
    with db.session() as session:
        args = salesforce_connection_args(server, bulk_threshold=3, bulk_poll_seconds=0.05)
        create_connection(session, box, name="acme", **args)
    server.sandbox.faults.add(
        Fault("job_failed", api="salesforce", path="/jobs/query/Contact", message="Internal")
    )
    first = _sync(db, box)
    assert first.status == "partial", first
    by_stream = {summary.stream: summary for summary in first.streams}
    assert len(by_stream) == STREAMS
    assert "Internal" in str(by_stream["Contact"].error)
    assert [name for name, summary in by_stream.items() if summary.error] == ["Contact"]
    assert by_stream["Task"].read == TASK_COUNT and len(_raw(db, "Task")) == TASK_COUNT
    assert _raw(db, "Contact") == {}
    with db.sessions() as session:
        cursors = {c.stream: c for c in session.scalars(select(StreamCursor))}
    assert "Contact" not in cursors or cursors["Contact"].last_value is None
    assert all(cursors[name].last_value is not None for name in ("Task", "Account"))

    again = _sync(db, box)
    assert again.status == "succeeded", again
    reread = {summary.stream: summary for summary in again.streams}
    assert reread["Contact"].new == 4 and len(_raw(db, "Contact")) == 4
    assert reread["Task"].new == 0 and reread["Task"].changed == 0
    with db.sessions() as session:
        stored = session.scalars(select(RawRecord.stream)).all()
    assert len(stored) == len(set(_raw(db)))  # every record stored once
