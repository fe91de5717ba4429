"""The fault matrix: each CRM failure a sync or a write-back meets on the way — a rate limit
(429), a server error (500), an outage (503), a connection reset, an expired Salesforce
session — is survived with nothing lost, nothing stored twice and nothing written twice, and
every run ends in a stated status. A stop asked mid-run (what SIGTERM does in a worker) ends
a sync or a write-back of either CRM at once and the next run resumes; a write-back killed
outright (SIGKILL) is closed by the next run, which writes what was left. (TLS and DNS
failures, and a dead CRM, fail at once with one line: tests/app/services/sync/test_dead_crm.py
and tests/connectors/test_crm_failures.py; workers killed mid-sync: tests/app/worker.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.core.crypto import SecretBox, generate_key
from app.models import Connection, RawRecord, SyncRun, WritebackRun
from app.services.connections.changes import upsert_connection
from app.services.sync.runs import SyncReport, sync_connection
from app.services.writeback.public import WritebackReport
from app.services.writeback.runs import run_writeback
from connectors.core import RetryPolicy
from sandbox.crm.faults import Fault
from tests.app.cli.conftest import MILESTONES
from tests.conftest import FreshDatabases
from tests.support.sandbox import hubspot_connection_args, salesforce_connection_args
from tests.support.waiting import HANG_GUARD, wait_for
from tests.support.writeback_world import FAST_RETRY, SALESFORCE_EXTRA, World, shared_world

FAULTS = ["rate_limit", "server_error", "unavailable", "reset", "expire_session"]


@pytest.fixture(scope="module", params=["salesforce", "hubspot"])
def shared(
    request: pytest.FixtureRequest,
    fresh_databases: FreshDatabases,
    sales_history: Path,
    box: SecretBox,
) -> Iterator[World]:
    with shared_world(fresh_databases, sales_history, request.param, box) as built:
        yield built


def _ready(shared: World, kind: str) -> World:
    if kind == "expire_session" and shared.crm == "hubspot":
        pytest.skip("a HubSpot private app's token does not expire (OAuth refresh: test_hubspot)")
    return shared.reset()


def _connection_args(world: World) -> dict[str, Any]:
    """Another connection to the world's CRM, read from scratch."""
    if world.crm == "salesforce":
        return salesforce_connection_args(world.server, extra_fields=SALESFORCE_EXTRA)
    return hubspot_connection_args(world.server, search_per_second=100, deletions_every_minutes=0)


def _command_env(world: World, key: str, data_dir: Path) -> dict[str, str]:
    """What a `milestones` process needs to work on the world's database with `key`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    env.update(
        DATABASE_URL=world.db.url,
        MILESTONES_SECRET_KEY=key,
        MILESTONES_DATA_DIR=str(data_dir),
        MILESTONES_LOG_LEVEL="WARNING",
    )
    return env


def _faults(world: World, kind: str) -> Fault:
    """The fault, again and again through the run: on every fourth request, five times."""
    fault = Fault(kind, api=world.crm, after=2, every=4, times=5, retry_after=0.01, delay=0.01)
    world.sandbox.faults.add(fault)
    return fault


def _keys(world: World, name: str) -> Counter[tuple[str, str]]:
    with world.db.sessions() as session:
        rows = session.execute(
            select(RawRecord.stream, RawRecord.external_id)
            .join(Connection, Connection.id == RawRecord.connection_id)
            .where(Connection.name == name, RawRecord.deleted.is_(False))
        )
        return Counter((stream, external_id) for stream, external_id in rows)


@pytest.mark.parametrize("kind", FAULTS)
def test_a_sync_through_faults_stores_every_record_once(shared: World, kind: str) -> None:
    world = _ready(shared, kind)
    name = f"again-{kind}"
    with world.db.session() as session:  # the same CRM again, read from scratch
        upsert_connection(session, world.box, name=name, **_connection_args(world))
    fault = _faults(world, kind)
    report = sync_connection(world.db, world.box, name, retry=FAST_RETRY)
    assert fault.fired > 0, "the fault never met the sync"
    assert report.status == "succeeded", report
    again, first = _keys(world, name), _keys(world, world.name)
    assert set(again) == set(first)  # nothing lost
    assert max(again.values()) == 1  # nothing stored twice


@pytest.mark.parametrize("kind", FAULTS)
def test_a_write_back_through_faults_writes_every_record_once(shared: World, kind: str) -> None:
    world = _ready(shared, kind)
    fault = _faults(world, kind)
    first = world.writeback()
    assert fault.fired > 0, "the fault never met the write-back"
    assert first.status in ("succeeded", "partial"), first  # a stated end, never a crash
    world.sandbox.faults.clear()
    rest = world.writeback()
    assert rest.status == "succeeded", rest
    # every record written exactly once across the two runs, then nothing is left to write
    assert first.records_written + rest.records_written == first.records_checked
    assert rest.records_written == first.records_checked - first.records_written
    final = world.writeback()
    assert (final.status, final.records_changed, final.api_calls) == ("succeeded", 0, 0)


def test_a_write_back_asked_to_stop_while_waiting_on_the_crm_ends_at_once_and_resumes(
    shared: World,
) -> None:
    """What SIGTERM does to a worker mid write-back (it sets the stop its retries wait on):
    the wait ends at once, no call is made after it, what was written stays recorded, and
    the next run writes the rest, each record once."""
    world = shared.reset()
    stop = threading.Event()
    limited = world.sandbox.faults.add(
        Fault("rate_limit", api=world.crm, after=1, every=1, times=None, retry_after=60)
    )
    patient = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=60, jitter=0.0, stop=stop)
    reports: list[WritebackReport] = []
    run = threading.Thread(
        target=lambda: reports.append(
            run_writeback(
                world.db, world.box, world.name, as_of=world.now, now=world.now,
                store=world.store, retry=patient,
            )
        )
    )  # fmt: skip
    run.start()
    assert wait_for(lambda: limited.fired >= 1), "the write-back never met the rate limit"
    calls = world.write_calls
    stop.set()
    run.join(HANG_GUARD)
    assert not run.is_alive(), "the write-back did not stop"
    (first,) = reports
    assert first.status == "stopped", first
    assert world.write_calls == calls  # no call after the stop
    world.sandbox.faults.clear()
    rest = world.writeback()
    assert rest.status == "succeeded", rest
    assert first.records_written + rest.records_written == rest.records_checked
    assert world.writeback().records_changed == 0


def test_a_sync_asked_to_stop_while_waiting_on_the_crm_ends_at_once_and_resumes(
    shared: World,
) -> None:
    """The same for a sync: the wait on a rate limit ends at once, the run is partial, and
    the next run reads on from the last stored page, every record stored once."""
    world = shared.reset()
    args = _connection_args(world)
    with world.db.session() as session:
        upsert_connection(session, world.box, name="stopped", **args)
    stop = threading.Event()
    limited = world.sandbox.faults.add(
        Fault("rate_limit", api=world.crm, after=6, every=1, times=None, retry_after=60)
    )
    patient = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=60, jitter=0.0, stop=stop)
    reports: list[SyncReport] = []
    run = threading.Thread(
        target=lambda: reports.append(
            sync_connection(world.db, world.box, "stopped", retry=patient)
        )
    )
    run.start()
    assert wait_for(lambda: limited.fired >= 1), "the sync never met the rate limit"
    stop.set()
    run.join(HANG_GUARD)
    assert not run.is_alive(), "the sync did not stop"
    (first,) = reports
    assert first.status == "partial" and "stopped on request" in str(first.error), first
    world.sandbox.faults.clear()
    again = sync_connection(world.db, world.box, "stopped", retry=FAST_RETRY)
    assert again.status == "succeeded", again
    stored, reference = _keys(world, "stopped"), _keys(world, world.name)
    assert set(stored) == set(reference) and max(stored.values()) == 1


def test_a_write_back_killed_mid_run_is_closed_and_the_next_run_writes_what_is_left(
    shared: World, tmp_path: Path
) -> None:
    """SIGKILL: `milestones writeback` is killed while a batch is on its way. Its run is left
    marked running; the next run closes it as cancelled and writes every record the killed
    one had not recorded, and nothing it had."""
    world = shared.reset()
    key = generate_key()
    own, world.box = world.box, SecretBox([key.encode()])
    world.connect()  # the credentials sealed with a key the command is given
    path = "/composite/sobjects" if world.crm == "salesforce" else "/batch/update"
    slow = world.sandbox.faults.add(
        Fault("slow", api=world.crm, path=path, after=1, every=1, times=None, delay=3.0)
    )
    env = _command_env(world, key, tmp_path)
    command = subprocess.Popen(
        [MILESTONES, "writeback", world.name, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: slow.fired >= 1 or command.poll() is not None)
        assert command.poll() is None, "the write-back ended before a batch was slowed"
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
    world.sandbox.faults.clear()
    world.box = own
    world.connect()
    with world.db.sessions() as session:
        [killed] = session.scalars(select(WritebackRun)).all()
        assert killed.status == "running"  # as the killed process left it
        recorded = len(world.records())
    rest = world.writeback(crm_clock=True)
    assert rest.status == "succeeded", rest
    assert recorded > 0  # the batch before the slowed one was written and recorded
    assert rest.records_written == rest.records_checked - recorded  # the rest, only the rest
    with world.db.sessions() as session:
        runs = session.scalars(select(WritebackRun).order_by(WritebackRun.id)).all()
        assert [r.status for r in runs] == ["cancelled", "succeeded"]
        assert "ended without finishing" in str(runs[0].error)
    assert world.writeback(crm_clock=True).records_changed == 0


def test_a_sync_killed_mid_run_resumes_with_every_record_stored_once(
    shared: World, tmp_path: Path
) -> None:
    """SIGKILL: `milestones sync` is killed while a page is on its way. The next sync goes on
    from the last stored page: nothing lost, nothing stored twice, and the run the killed
    process left is closed."""
    world = shared.reset()
    key = generate_key()
    args = _connection_args(world)
    with world.db.session() as session:
        upsert_connection(session, SecretBox([key.encode()]), name="killed", **args)
    slow = world.sandbox.faults.add(
        Fault("slow", api=world.crm, after=8, every=1, times=None, delay=3.0)
    )
    env = _command_env(world, key, tmp_path)
    command = subprocess.Popen(
        [MILESTONES, "sync", "killed", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: slow.fired >= 1 or command.poll() is not None)
        assert command.poll() is None, "the sync ended before a page was slowed"
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
    world.sandbox.faults.clear()
    stored_at_kill = sum(_keys(world, "killed").values())
    again = subprocess.run(
        [MILESTONES, "sync", "killed", "--json"], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    stored, reference = _keys(world, "killed"), _keys(world, world.name)
    assert 0 < stored_at_kill < sum(reference.values())
    assert set(stored) == set(reference) and max(stored.values()) == 1
    with world.db.sessions() as session:
        statuses = [
            status
            for (status,) in session.execute(
                select(SyncRun.status)
                .join(Connection, Connection.id == SyncRun.connection_id)
                .where(Connection.name == "killed")
                .order_by(SyncRun.id)
            )
        ]
    assert statuses[-1] == "succeeded" and "running" not in statuses, statuses
