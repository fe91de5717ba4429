"""Fresh by push: a finished pipeline pass reaches the API's answers without a request to
trigger it. The first request after the pass already answers with the new state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from app.api.deps import kpi_store_of
from app.api.main import create_app
from app.core.database import Database
from app.core.settings import Settings
from app.models import Milestone, MilestoneEvent, SyncRun
from app.models.base import utcnow
from app.services.state.opportunities import refresh_states
from tests.app.api.conftest import Auth
from tests.support.kpi_world import NOW, build
from tests.support.waiting import wait_for

OPEN_AT_CREATION = 101  # an open deal no customer has answered yet (index 100: i % 5 == 0)


@pytest.fixture
def client(db: Database, auth: Auth) -> Iterator[tuple[TestClient, dict[str, int]]]:
    ids = build(db)
    app = create_app(Settings(log_level="WARNING"), db)
    with TestClient(app, headers=auth("manager")) as test_client:
        yield test_client, ids


def _customer_replies(db: Database, ids: dict[str, int]) -> None:
    """What a pipeline pass commits when the customer's reply is synced and mapped."""
    with db.engine.begin() as connection:
        reply = connection.execute(
            select(Milestone.id).where(Milestone.key == "reply")
        ).scalar_one()
        connection.execute(
            insert(MilestoneEvent),
            [
                {
                    "ruleset_version_id": ids["version"],
                    "opportunity_id": OPEN_AT_CREATION,
                    "milestone_id": reply,
                    "occurred_at": NOW - timedelta(hours=1),
                    "rule_key": "r",
                    "evidence_connection_id": ids["connection"],
                    "evidence_stream": "EmailMessage",
                    "evidence_external_id": "02sREPLY",
                    "evidence_url": "https://crm.example/02sREPLY",
                    "created_at": NOW,
                }
            ],
        )
        refresh_states(connection, ids["version"], ids["connection"], {OPEN_AT_CREATION})


def test_the_first_request_after_a_pass_answers_with_its_state(
    client: tuple[TestClient, dict[str, int]], db: Database
) -> None:
    test_client, ids = client
    path = f"/api/v1/opportunities/{OPEN_AT_CREATION}"
    assert test_client.get(path).json()["milestone"] == "created"
    store = kpi_store_of(test_client.app)
    before = store.current.generation if store.current is not None else 0

    _customer_replies(db, ids)

    # no request is made while waiting: nothing pulls the change
    assert wait_for(lambda: store.current is not None and store.current.generation > before), (
        "the view never took in the pass"
    )
    answer = test_client.get(path).json()  # exactly one request
    assert answer["milestone"] == "reply"
    ready = test_client.get("/readyz").json()
    assert ready["kpi_view_age_seconds"] is not None and ready["kpi_view_as_of"] is not None


def test_every_kpi_answer_tells_how_old_its_crm_data_is(
    client: tuple[TestClient, dict[str, int]], db: Database
) -> None:
    test_client, ids = client
    first = test_client.get("/api/v1/funnel")
    assert first.headers["X-Data-Age-Seconds"] == "none"  # nothing synced yet
    assert first.json()["as_of"]
    with db.session() as session:
        session.add(
            SyncRun(connection_id=ids["connection"], status="succeeded",
                    finished_at=utcnow() - timedelta(seconds=30))
        )  # fmt: skip

    def age() -> str:
        return str(test_client.get("/api/v1/stalled").headers["X-Data-Age-Seconds"])

    assert wait_for(lambda: age() != "none"), "the view never saw the sync"  # by itself
    assert float(age()) >= 30.0
    assert test_client.get("/api/v1/opportunities").json()["as_of"]
