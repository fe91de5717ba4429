"""Write-back into a Salesforce org (the sandbox over HTTPS, via simple-salesforce): the KPI
fields on every opportunity, diff only, in sObject Collections of 200, with per-record failures
recorded and retried, and no loop through the next sync.

Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.kpis.history import days_between
from app.models import Connection, RawRecord, WritebackRecord, WritebackRun
from app.services.jobs.pipeline import run_pipeline
from app.services.kpis.queries import opportunity_row
from app.services.kpis.store import KpiStore
from app.services.mapping.runs import derive_active
from app.services.writeback import runs as writeback_service
from app.services.writeback.crm_fields import setup_fields
from app.services.writeback.fields import OPPORTUNITY_FIELDS
from app.services.writeback.public import WritebackReport
from app.services.writeback.runs import automatic_writeback, failing_records, list_runs
from connectors.core import MissingPermission
from connectors.salesforce.writeback import SalesforceWriter
from sandbox.crm.faults import Fault
from tests.conftest import FreshDatabases
from tests.support.writeback_world import World, crm_world, shared_world

FIELDS = [entry.salesforce for entry in OPPORTUNITY_FIELDS]


@pytest.fixture(scope="module")
def shared(fresh_databases: FreshDatabases, sales_history: Path, box: SecretBox) -> Iterator[World]:
    with shared_world(fresh_databases, sales_history, "salesforce", box) as built:
        yield built


@pytest.fixture
def ready(shared: World) -> World:
    """A synced, mapped org with the write-back fields, nothing written yet."""
    return shared.reset()


@pytest.fixture
def world(db: Database, box: SecretBox, sales_history: Path) -> Iterator[World]:
    """A fresh synced, mapped org without the write-back fields, for tests that change it."""
    with crm_world(db, box, sales_history, "salesforce") as built:
        yield built


def _connection_id(world: World) -> int:
    with world.db.sessions() as session:
        return session.scalars(select(Connection.id).where(Connection.name == world.name)).one()


def _time_passes(world: World) -> None:
    """Every waiting record's retry time comes (the values stay those of `world.now`)."""
    with world.db.engine.begin() as connection:
        connection.execute(
            update(WritebackRecord).values(next_attempt_at=world.now - timedelta(seconds=1))
        )


def _row(world: World, opportunity_id: str) -> dict[str, Any]:
    found = world.sandbox.salesforce.get(opportunity_id)
    assert found is not None
    return found[1]


def test_setup_fields_lists_creates_once_and_checks(world: World) -> None:
    dry = setup_fields(world.db, world.box, world.name, "dry_run")
    assert dry.ok and dry.created == []
    assert [f.status for f in dry.fields["Opportunity"]] == ["to create"] * len(FIELDS)
    assert world.sandbox.calls["salesforce.tooling_custom_field"] == 0
    assert any(
        "Win_Probability__c" in step and '"type": "Percent"' in step for step in dry.manual_steps
    )

    checked = setup_fields(world.db, world.box, world.name, "check")
    assert not checked.ok
    assert "Opportunity.Stalled__c does not exist" in " ".join(checked.problems)

    created = setup_fields(world.db, world.box, world.name, "create")
    assert created.ok, created.problems
    assert created.created == [f"Opportunity.{name}" for name in FIELDS]
    assert {f.status for f in created.fields["Opportunity"]} == {"created"}
    assert world.sandbox.calls["salesforce.tooling_custom_field"] == len(FIELDS)

    again = setup_fields(world.db, world.box, world.name, "create")
    assert again.ok and again.created == []
    assert world.sandbox.calls["salesforce.tooling_custom_field"] == len(FIELDS)
    assert setup_fields(world.db, world.box, world.name, "check").ok


def test_a_missing_or_read_only_field_is_named_and_nothing_is_written(ready: World) -> None:
    ready.connect(writeback={"fields": {"stalled": {"name": "Never_Created__c"}}})
    checked = setup_fields(ready.db, ready.box, ready.name, "check")
    assert checked.problems == [
        "Opportunity.Never_Created__c does not exist (or the integration user cannot see it)"
    ]
    report = ready.writeback()
    assert report.status == "failed" and report.records_written == 0
    assert "Opportunity.Never_Created__c does not exist" in (report.error or "")
    assert ready.write_calls == 0
    calls = ready.sandbox.calls.total("salesforce")
    skipped = automatic_writeback(ready.db, ready.box, _connection_id(ready))
    assert skipped is not None and skipped.status == "skipped"  # for a while, at no cost
    assert ready.sandbox.calls.total("salesforce") == calls

    ready.connect()  # changed settings: the next automatic run looks again
    again = automatic_writeback(ready.db, ready.box, _connection_id(ready))
    assert again is not None and again.status == "succeeded"
    schema = ready.sandbox.salesforce.schema("Opportunity")
    assert schema is not None
    field = schema.field("Win_Probability__c")
    assert field is not None
    field.updateable = False
    try:
        problems = setup_fields(ready.db, ready.box, ready.name, "check").problems
        assert problems == [
            "Opportunity.Win_Probability__c is not writable: grant the integration user edit "
            "access (field-level security) or replace a formula field"
        ]
        later = ready.writeback(now=ready.now + timedelta(days=3))  # changes to write
        assert later.status == "failed" and "Win_Probability__c is not writable" in str(later.error)
        assert ready.write_calls == again.write_calls
    finally:
        field.updateable = True


def test_every_opportunity_gets_its_kpis_in_calls_of_200_and_an_unchanged_run_calls_nothing(
    ready: World,
) -> None:
    first = ready.writeback()
    assert first.status == "succeeded", first
    assert first.records_checked == first.records_changed == first.records_written > 200
    assert ready.write_calls == first.write_calls == math.ceil(first.records_written / 200)
    assert first.api_calls == first.write_calls + 2  # a login and one describe

    snapshot = ready.store.snapshot()
    open_deal = next(
        (key, deal)
        for key, deal in sorted(snapshot.deals.items())
        if deal.is_open and deal.process is not None and deal.reached
    )
    deal, info = open_deal[1], snapshot.info[open_deal[0]]
    assert deal.process is not None
    kpis = opportunity_row(snapshot, deal, info, snapshot.processes[deal.process], ready.now)
    row = _row(ready, info.external_id)
    milestone = snapshot.processes[deal.process].at(kpis.position)
    assert milestone is not None
    assert row["Milestone__c"] == milestone.name
    assert row["Milestone_Number__c"] == kpis.position
    assert row["Win_Probability__c"] == round(kpis.win_probability * 100)
    assert row["Expected_Value__c"] == round(deal.amount * row["Win_Probability__c"] / 100)
    assert row["Days_At_Milestone__c"] == math.floor(days_between(info.current_since, ready.now))
    assert abs(row["Days_At_Milestone__c"] - kpis.days_at_milestone) < 1.1
    assert row["Stalled__c"] is kpis.stalled
    assert row["Next_Step_Guidance__c"] == kpis.guidance
    assert deal.last_action_at is not None
    assert row["Last_Customer_Action__c"] == deal.last_action_at.date().isoformat()
    assert row["Last_Customer_Action_Kind__c"] in ("does", "says", "writes")
    assert row["Forecast_Close_Month__c"] is None or str(row["Forecast_Close_Month__c"]).endswith(
        "-01"
    )

    second = ready.writeback()
    assert (second.status, second.records_changed, second.api_calls) == ("succeeded", 0, 0)
    assert ready.write_calls == first.write_calls
    with ready.db.sessions() as session:
        runs = session.scalars(select(WritebackRun).order_by(WritebackRun.id)).all()
        assert [(r.records_written, r.api_calls) for r in runs] == [
            (first.records_written, first.api_calls),
            (0, 0),
        ]
    assert [run.records_written for run in list_runs(ready.db, "acme")] == [
        0,
        first.records_written,
    ]


def test_only_the_records_whose_values_changed_are_sent(ready: World) -> None:
    first = ready.writeback()
    open_deals = sum(
        1
        for deal in ready.store.snapshot().deals.values()
        if deal.is_open and deal.process is not None and deal.connection is not None
    )
    calls = ready.write_calls
    later = ready.writeback(now=ready.now + timedelta(days=3))  # open deals: three days older
    assert 0 < later.records_changed <= open_deals < first.records_checked
    assert later.records_written == later.records_changed
    assert ready.write_calls - calls == math.ceil(later.records_changed / 200)


def test_refused_records_keep_the_crm_message_and_are_retried_later(world: World) -> None:
    assert setup_fields(world.db, world.box, world.name, "create").ok
    ready = world
    ids = sorted(ready.store.snapshot().info[k].external_id for k in ready.store.snapshot().info)
    refused = {ids[3], ids[250]}
    rule = ready.sandbox.add_validation_rule(
        "Opportunity",
        "Stalled deals need a reason",
        lambda row: row["Id"] in refused,
        error_field="Stalled__c",
    )
    deleted = ids[7]
    ready.sandbox.salesforce.delete(deleted, ready.sandbox.now())

    first = ready.writeback()
    assert first.status == "partial"
    assert first.records_failed == 3 and first.records_written == first.records_changed - 3
    records = ready.records()
    assert records[ids[3]].last_error == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: Stalled deals need a reason [Stalled__c]"
    )
    assert records[deleted].last_error == "ENTITY_IS_DELETED: entity is deleted"
    assert records[ids[3]].failures == 1 and records[ids[3]].values_hash is None
    assert records[ids[3]].next_attempt_at == ready.now + timedelta(minutes=5)
    assert records[ids[4]].failures == 0 and records[ids[4]].values_hash is not None
    assert {f.id for f in failing_records(ready.db, "acme")} == {*refused, deleted}

    calls = ready.write_calls
    waiting = ready.writeback()  # too early to retry: nothing is sent, nothing re-sent
    assert (waiting.records_changed, waiting.records_deferred, waiting.api_calls) == (3, 3, 0)
    assert ready.write_calls == calls

    _time_passes(ready)  # the retry time has come
    retried = ready.writeback()
    assert (retried.records_written, retried.records_failed) == (0, 3)
    assert ready.write_calls == calls + 1  # the three failed records only, in one call
    again = ready.records()[ids[3]]
    assert again.failures == 2 and again.next_attempt_at == ready.now + timedelta(minutes=10)

    ready.sandbox.salesforce.validation_rules.remove(rule)
    _time_passes(ready)
    recovered = ready.writeback()
    assert (recovered.records_written, recovered.records_failed) == (2, 1)
    row = ready.records()[ids[3]]
    assert (row.failures, row.last_error, row.values_hash is not None) == (0, None, True)
    assert _row(ready, ids[3])["Milestone_Number__c"] is not None

    ready.sync()  # the deletion arrives: the deleted opportunity leaves write-back
    derive_active(ready.db, None)
    _time_passes(ready)
    settled = ready.writeback()
    # One deal fewer in the history the win model learns from may move another deal's rounded
    # probability: whatever changed is written, and nothing fails or waits.
    assert settled.records_failed == 0 and settled.records_written == settled.records_changed
    assert failing_records(ready.db, "acme") == [] and deleted not in ready.records()
    assert ready.writeback().records_changed == 0


def test_locked_hidden_and_invalid_records_keep_the_crm_message_and_wait_their_turn(
    ready: World,
) -> None:
    ids = sorted(ready.store.snapshot().info[k].external_id for k in ready.store.snapshot().info)
    causes = {
        ids[10]: "UNABLE_TO_LOCK_ROW",
        ids[11]: "INSUFFICIENT_ACCESS_OR_READONLY",
        ids[210]: "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    }
    for record_id, code in causes.items():
        ready.sandbox.faults.add(
            Fault("record_error", api="salesforce", ids=[record_id], code=code, times=None)
        )
    first = ready.writeback()
    assert (first.status, first.records_failed) == ("partial", 3)
    assert ready.write_calls == math.ceil(first.records_changed / 200)
    records = ready.records()
    assert {k for k, r in records.items() if r.failures} == set(causes)
    assert records[ids[10]].last_error == (
        "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"
    )
    assert records[ids[11]].last_error == (
        "INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id"
    )
    assert records[ids[210]].last_error == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: The record does not pass a validation rule"
    )
    assert records[ids[12]].values_hash is not None  # the rest of their batch: written

    calls = ready.write_calls
    waiting = ready.writeback()
    assert (waiting.records_deferred, waiting.api_calls) == (3, 0) and ready.write_calls == calls
    runs = list_runs(ready.db, "acme")
    assert [run.records_deferred for run in runs] == [3, 0]  # stored with the run
    with ready.db.sessions() as session:
        stored = session.scalars(select(WritebackRun).order_by(WritebackRun.id)).all()
        assert [run.records_deferred for run in stored] == [0, 3]

    ready.sandbox.faults.clear()
    _time_passes(ready)
    retried = ready.writeback()  # only the three: one call
    assert (retried.records_written, retried.records_failed) == (3, 0)
    assert ready.write_calls == calls + 1
    assert all(r.failures == 0 for r in ready.records().values())


def test_a_call_rejected_as_a_whole_leaves_every_record_queued_with_the_reason(
    ready: World,
) -> None:
    ready.sandbox.faults.add(
        Fault("server_error", api="salesforce", path="composite/sobjects", times=None)
    )
    report = ready.writeback()
    assert report.records_written == 0 and report.records_failed == report.records_changed
    assert report.status == "failed"
    records = ready.records()
    assert len(records) == report.records_changed
    assert all(
        r.last_error
        and r.last_error.startswith("the whole call was rejected: Salesforce answered 500")
        for r in records.values()
    )
    assert all(r.values_hash is None and r.failures == 1 for r in records.values())

    ready.sandbox.faults.clear()
    _time_passes(ready)
    later = ready.writeback()
    assert later.records_written == report.records_changed and later.records_failed == 0


def test_a_run_stops_at_the_quota_share_and_queues_the_rest(ready: World) -> None:
    limit = ready.sandbox.config.sf_daily_api_max
    ready.sandbox.sf_api_used = int(0.8 * limit) - 2  # room for a describe and one write
    report = ready.writeback()
    assert report.write_calls == ready.write_calls == 1 and report.records_written == 200
    assert str(report.error).startswith("stopped at the configured quota share")
    assert report.status == "partial"
    waiting = [r for r in ready.records().values() if r.failures]
    assert len(waiting) == report.records_changed - 200 == report.records_failed
    assert all(str(r.last_error).startswith("not sent: stopped at") for r in waiting)


def test_our_own_writes_come_back_with_the_next_sync_and_change_nothing(world: World) -> None:
    assert setup_fields(world.db, world.box, world.name, "create").ok
    ready = world  # an org of its own: nothing written into it before
    first = ready.writeback(crm_clock=True)
    assert first.records_written > 200
    events, states = ready.events(), ready.states()
    calls = ready.write_calls

    synced = ready.sync()
    changed = {o.stream: o.changed for o in synced.streams}
    assert changed["Opportunity"] >= first.records_written  # our writes moved SystemModstamp
    with ready.db.sessions() as session:
        payloads = session.scalars(
            select(RawRecord.payload).where(RawRecord.stream == "Opportunity")
        ).all()
        assert not any(name in payload for payload in payloads for name in FIELDS)
    runs = derive_active(ready.db, None)
    assert sum(run.events_added + run.events_removed + run.events_moved for run in runs) == 0
    assert ready.events() == events and ready.states() == states

    second = ready.writeback(crm_clock=True)
    assert (second.records_changed, second.records_written, second.api_calls) == (0, 0, 0)
    assert ready.write_calls == calls


def test_the_pipeline_writes_back_after_each_pass_and_its_next_pass_writes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end on the CRM's own clock (no fixed as-of): sync -> mapping -> state ->
    write-back, twice; the second pass re-reads every opportunity we wrote and writes none."""
    assert setup_fields(world.db, world.box, world.name, "create").ok
    ready = world  # an org of its own: nothing written into it before
    store = KpiStore(ready.db, refresh_seconds=0.0, model_seconds=1e9)
    monkeypatch.setattr(writeback_service, "shared_store", lambda _database: store)
    connection_id = _connection_id(ready)
    first = run_pipeline(ready.db, ready.box, ready.name, connection_id)
    assert first.status == "succeeded" and isinstance(first.writeback, WritebackReport)
    assert first.writeback.records_written > 200
    kept = first.model_dump(mode="json")  # the job's result: totals, not rows or previews
    assert "changes" not in kept["writeback"] and "streams" not in kept["sync"]
    assert first.sync is not None
    assert kept["sync"]["records_read"] == sum(o.read for o in first.sync.streams)
    events = ready.events()
    second = run_pipeline(ready.db, ready.box, ready.name, connection_id)
    assert second.sync is not None and isinstance(second.writeback, WritebackReport)
    repulled = {o.stream: o.changed for o in second.sync.streams}
    assert repulled["Opportunity"] >= first.writeback.records_written
    assert ready.events() == events
    assert second.writeback.records_written == second.writeback.write_calls == 0

    ready.connect(writeback={"enabled": False})
    assert run_pipeline(ready.db, ready.box, ready.name, connection_id).writeback is None


def test_a_dry_run_compares_and_writes_nothing(ready: World) -> None:
    report = ready.writeback(dry_run=True)
    assert report.dry_run and report.records_changed == report.records_checked > 0
    assert report.api_calls == 0 and ready.write_calls == 0
    assert len(report.changes) == 20 and set(report.changes[0].values) <= set(FIELDS)
    assert ready.records() == {}


def test_renamed_disabled_and_account_fields(ready: World) -> None:
    world = ready
    world.connect(
        writeback={
            "fields": {"stalled": {"name": "Deal_Stalled__c"}, "next_step": {"enabled": False}},
            "account_fields": True,
        }
    )
    created = setup_fields(world.db, world.box, world.name, "create")
    assert created.ok, created.problems
    assert "Opportunity.Deal_Stalled__c" in created.created
    assert "Opportunity.Next_Step_Guidance__c" not in created.created
    assert "Account.Open_Opportunities_Milestone__c" in created.created

    report = world.writeback()
    assert report.status == "succeeded"
    with world.db.sessions() as session:
        accounts = session.scalars(
            select(WritebackRecord).where(WritebackRecord.object_type == "Account")
        ).all()
    assert accounts
    open_total = sum(a.written_values["Open_Opportunities_Milestone__c"] for a in accounts)
    snapshot = world.store.snapshot()
    assert open_total == sum(
        1 for d in snapshot.deals.values() if d.is_open and d.process is not None
    )
    sample = accounts[0]
    account_row = world.sandbox.salesforce.get(sample.external_id)
    assert account_row is not None
    assert account_row[1]["Expected_Value__c"] == sample.written_values["Expected_Value__c"]
    opportunity = next(iter(world.records().values()))
    assert "Deal_Stalled__c" in opportunity.written_values
    assert "Next_Step_Guidance__c" not in opportunity.written_values


def test_settings_refuse_invalid_names_and_fields_the_sync_would_read(ready: World) -> None:
    world = ready
    with pytest.raises(InvalidRequestError, match="'Stalled' is not a Salesforce custom field"):
        world.connect(writeback={"fields": {"stalled": {"name": "Stalled"}}})
    with pytest.raises(InvalidRequestError, match="is also the name of milestone_name"):
        world.connect(writeback={"fields": {"stalled": {"name": "Milestone__c"}}})
    with pytest.raises(InvalidRequestError, match="Stalled__c is a write-back field"):
        world.connect(extra_fields={"Opportunity": ["Stalled__c"]})


def test_without_permission_to_create_fields_the_exact_definitions_are_given(
    ready: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> list[str]:
        raise MissingPermission(
            "Salesforce refused the request (INSUFFICIENT_ACCESS): insufficient access rights"
        )

    monkeypatch.setattr(SalesforceWriter, "create_fields", refuse)
    ready.connect(writeback={"fields": {"stalled": {"name": "Stuck__c"}}})  # a new name
    report = setup_fields(ready.db, ready.box, ready.name, "create")
    assert not report.ok and report.created == []
    assert report.problems == [
        "creating Opportunity fields refused: Salesforce refused the request "
        "(INSUFFICIENT_ACCESS): insufficient access rights — create them by hand "
        "(manual_steps), then run `milestones crm setup-fields acme --check`"
    ]
    assert report.manual_steps == [
        "Setup > Object Manager > Opportunity > Fields & Relationships > New: Checkbox; Field "
        "Label 'Stalled', Field Name 'Stuck' (API name Stuck__c); visible and editable for the "
        "integration user. Tooling API: POST tooling/sobjects/CustomField "
        '{"FullName": "Opportunity.Stuck__c", "Metadata": {"label": "Stalled", '
        '"description": "Longer at this milestone than 80% of deals that moved on from it.", '
        '"inlineHelpText": "Longer at this milestone than 80% of deals that moved on from it.", '
        '"type": "Checkbox", "defaultValue": "false"}}'
    ]
