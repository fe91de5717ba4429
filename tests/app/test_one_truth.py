"""One truth: every KPI field written into the CRM equals what the API answers for that deal.

Both CRMs of the sandbox go through sync → mapping → write-back, customers act, and then
sync → mapping → write-back again, as the worker runs it (`run_pipeline`). The API then answers
for every deal; each field on the CRM record is that answer as the CRM field shows it (whole
percent, whole currency units, whole days, dates as days and months).

With the sandbox's clock frozen (it moves only when the test moves it) and with it running
(ten CRM hours a real second, the data clock's wall time running with it), the write-back and
the API, which looks later, still agree exactly: the data clock is the CRMs' time as of their
last sync (`app.services.state.clock`), the same instant whenever and wherever it is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.main import create_app
from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.settings import Settings
from app.models import Connection, OpportunityState
from app.models.base import utcnow
from app.services.access.api_keys import create_key
from app.services.jobs.pipeline import run_pipeline
from app.services.state import clock
from app.services.writeback.crm_fields import setup_fields
from app.services.writeback.fields import WritebackSettings, crm_value, field_set
from app.services.writeback.public import WritebackReport
from tests.support.writeback_world import FAST_RETRY, Crm, World, crm_world

SPEED = 36000.0
"""The running sandbox: one real second is ten hours of the CRMs' time, so that a reader that
took the wall clock a fraction of a second after the write-back would answer for another
instant (a day boundary crossed, a probability moved)."""


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest) -> Crm:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=["frozen", "running"])
def sandbox_clock(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def world(
    crm: Crm,
    sandbox_clock: str,
    db: Database,
    box: SecretBox,
    sales_history: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    """Frozen: the sandbox's clock moves only when the test moves it, and the data clock's
    wall time is held still. Running: the sandbox's clock runs at `SPEED`, and the wall time
    the data clock may read runs with it."""
    with crm_world(db, box, sales_history, crm) as world:
        if sandbox_clock == "frozen":
            still = utcnow()
            monkeypatch.setattr(clock, "utcnow", lambda: still)
        else:
            world.sandbox.clock.set_speed(SPEED)
            wall, crm_start = utcnow(), world.sandbox.now()
            monkeypatch.setattr(clock, "utcnow", lambda: wall + (world.sandbox.now() - crm_start))
        assert setup_fields(db, box, world.name, "create", retry=FAST_RETRY).ok
        yield world


def _expected(answer: dict[str, Any], last_action_kind: str | None) -> dict[str, Any]:
    """The API's answer for one deal, as each CRM field shows it."""
    percent = round(answer["win_probability"] * 100)
    last_action = answer["last_customer_action_at"]
    return {
        "milestone_name": answer["milestone_name"],
        "milestone_number": answer["position"],
        "last_customer_action_date": last_action[:10] if last_action else None,
        "last_customer_action_kind": last_action_kind,
        "days_at_milestone": math.floor(answer["days_at_milestone"]),
        "win_probability": percent,
        "expected_value": round(answer["amount"] * percent / 100),
        "forecast_close_month": answer["forecast_close_month"],
        "stalled": answer["stalled"],
        "next_step": (answer["guidance"] or None) if answer["outcome"] == "open" else None,
    }


def _crm_record(world: World, external_id: str) -> dict[str, Any]:
    if world.crm == "salesforce":
        found = world.sandbox.salesforce.get(external_id)
        assert found is not None
        return dict(found[1])
    # HubSpot keeps no empty values: a property never set reads as "" cleared
    properties = world.sandbox.hubspot.objects["deals"][external_id].properties
    return {name: "" if value is None else value for name, value in properties.items()}


def _pass(world: World, connection_id: int) -> WritebackReport:
    report = run_pipeline(world.db, world.box, world.name, connection_id)
    assert report.status == "succeeded", report
    assert isinstance(report.writeback, WritebackReport), report.writeback
    assert report.writeback.status == "succeeded", report.writeback
    return report.writeback


def test_every_written_kpi_field_equals_the_api_answer_for_that_deal(
    world: World, sandbox_clock: str
) -> None:
    crm: Crm = world.crm
    with world.db.sessions() as session:
        connection = session.scalars(select(Connection).where(Connection.name == world.name)).one()
        connection_id = connection.id
        settings = WritebackSettings.model_validate(connection.settings.get("writeback") or {})
        _, secret = create_key(session, "manager", "manager", None)
        session.commit()
    first = _pass(world, connection_id)
    world.sandbox.advance(days=3)  # customers act: emails, meetings, wins arrive
    second = _pass(world, connection_id)
    assert first.records_written > 100 and second.records_written > 0
    assert second.as_of is not None and first.as_of is not None and second.as_of > first.as_of

    fields = field_set(crm, settings).opportunity.fields
    with world.db.sessions() as session:
        kinds = dict(
            session.execute(
                select(OpportunityState.opportunity_id, OpportunityState.last_customer_action_kind)
            )
            .tuples()
            .all()
        )
    written_at = world.sandbox.now()
    app = create_app(Settings(log_level="WARNING"), world.db)
    compared, closed = 0, 0
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as client:
        for opportunity_id in sorted(kinds):
            response = client.get(f"/api/v1/opportunities/{opportunity_id}")
            if response.status_code == 404:  # not in a sales process: nothing is written
                continue
            answer = response.json()
            assert answer["as_of"] == second.as_of.isoformat()  # the instant the fields rest on
            expected = _expected(answer, kinds[opportunity_id])
            record = _crm_record(world, answer["external_id"])
            for field in fields:
                shown = crm_value(crm, field.definition, expected[field.key])
                missing = "" if crm == "hubspot" else None
                assert record.get(field.definition.name, missing) == shown, (
                    f"{crm} deal {answer['external_id']}: {field.definition.name} is "
                    f"{record.get(field.definition.name)!r}, the API says {shown!r} "
                    f"(as of {answer['as_of']})"
                )
            compared += 1
            closed += answer["outcome"] != "open"
    assert compared > 100 and closed > 10
    if sandbox_clock == "running":  # the CRMs' time ran on while the API answered
        assert world.sandbox.now() > written_at
    else:
        assert world.sandbox.now() == written_at
