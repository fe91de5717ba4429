"""One truth: every KPI field written into the CRM equals what the API answers for that deal.

Both CRMs of the sandbox go through sync → mapping → write-back, customers act, and then
sync → mapping → write-back again, as the worker runs it (`run_pipeline`). The API then answers
for every deal; each field on the CRM record is that answer as the CRM field shows it (whole
percent, whole currency units, whole days, dates as days and months). The data clock's wall
time is held still, so that the pipeline and the API read the one data clock at one instant.
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


@pytest.fixture(params=["salesforce", "hubspot"])
def world(
    request: pytest.FixtureRequest,
    db: Database,
    box: SecretBox,
    sales_history: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    still = utcnow()
    monkeypatch.setattr(clock, "utcnow", lambda: still)
    with crm_world(db, box, sales_history, request.param) as world:
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


def test_every_written_kpi_field_equals_the_api_answer_for_that_deal(world: World) -> None:
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

    fields = field_set(crm, settings).opportunity.fields
    with world.db.sessions() as session:
        kinds = dict(
            session.execute(
                select(OpportunityState.opportunity_id, OpportunityState.last_customer_action_kind)
            )
            .tuples()
            .all()
        )
    app = create_app(Settings(log_level="WARNING"), world.db)
    compared = 0
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as client:
        for opportunity_id in sorted(kinds):
            response = client.get(f"/api/v1/opportunities/{opportunity_id}")
            if response.status_code == 404:  # not in a sales process: nothing is written
                continue
            answer = response.json()
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
    assert compared > 100
