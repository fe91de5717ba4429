"""`GET /api/v1/health/drift`, `/value` and `/candidates`: ops and managers read them, reps do
not; they answer like every KPI (the candidates once the keeper has computed them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from app.api.main import create_app
from app.api.routes.process_health import router
from app.core.database import Database
from app.core.settings import Settings
from app.services.health.public import CandidatesPending
from bench.mapping_accuracy import EXAMPLES
from tests.app.api.conftest import Auth
from tests.support.kpi_world import build
from tests.support.waiting import wait_for


@pytest.fixture
def client(db: Database, auth: Auth) -> Iterator[TestClient]:
    build(db)
    app = create_app(Settings(log_level="WARNING"), db)
    with TestClient(app, raise_server_exceptions=False, headers=auth("manager")) as test_client:
        yield test_client


def _route(path: str = "/api/v1/health/drift") -> APIRoute:
    (route,) = [r for r in router.routes if isinstance(r, APIRoute) and r.path == path]
    return route


def _printed(body: object, path: str = "/api/v1/health/drift") -> object:
    model: TypeAdapter[object] = TypeAdapter(_route(path).response_model)
    return model.dump_python(model.validate_python(body), mode="json", by_alias=True)


def test_managers_and_ops_read_drift_reps_do_not(client: TestClient, auth: Auth) -> None:
    answer = client.get("/api/v1/health/drift")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body)[-1] == "data_age_seconds"
    assert "X-Data-Age-Seconds" in answer.headers
    assert body["false_discovery_rate"] == 0.05 and body["steps"]
    assert body["tested"] == sum(step["p_value"] is not None for step in body["steps"])
    assert _printed(body) == body
    # every step: conversion and days; the process's first step: its new deals a week too
    created = [step for step in body["steps"] if step["metric"] == "created"]
    assert [(s["process"], s["from_milestone"], s["to_milestone"]) for s in created] == [
        ("smb", "created", "reply")
    ]
    (inflow,) = created
    assert inflow["horizon_days"] is None and inflow["pace"] is None
    # kpi_world: 120 deals evenly over a year, 2.3 a week; the last complete weeks are no
    # different from the half-year before them
    assert inflow["p_value"] is not None and not inflow["flagged"]
    assert 1.5 < inflow["baseline"]["value"] < 3.5 and inflow["recent"]["deals"] > 0
    assert all(s["pace"] is not None for s in body["steps"] if s["metric"] == "conversion"
               and s["p_value"] is not None)  # fmt: skip
    ops = client.get("/api/v1/health/drift", headers=auth("ops"))
    assert ops.status_code == 200
    assert client.get("/api/v1/health/drift", headers=auth("rep", "005A")).status_code == 403
    narrowed = client.get("/api/v1/health/drift", params={"process": "nothing"}).json()
    assert narrowed["steps"] == [] and narrowed["tested"] == 0
    assert client.get("/api/v1/health/drift", params={"start": "2024-01-01"}).status_code == 422
    assert client.get("/api/v1/health/drift", params={"as_of": "soon"}).status_code == 422


@pytest.mark.parametrize(
    "path", ["/api/v1/health/drift", "/api/v1/health/value", "/api/v1/health/candidates"]
)
def test_the_documented_example_is_what_the_model_prints(path: str) -> None:
    example = _route(path).responses[200]["content"]["application/json"]["example"]
    assert _printed(example, path) == example


def test_milestone_value_compares_with_deals_that_had_not_reached_it(
    client: TestClient, auth: Auth
) -> None:
    answer = client.get("/api/v1/health/value")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body)[-1] == "data_age_seconds" and _printed(body, _VALUE) == body
    steps = [(m["previous"], m["milestone"]) for m in body["milestones"]]
    assert steps == [("created", "reply"), ("reply", "meeting"), ("meeting", "proposal")]
    proposal = body["milestones"][-1]
    # kpi_world: a third of the deals that get to the proposal win; none that stop before it
    assert proposal["reached"]["value"] > 0.25 and proposal["comparable"]["value"] == 0
    assert proposal["verdict"] == "adds information" and proposal["lift"] > 0
    assert proposal["out_of_order"] == 0 and body["out_of_order"] == []
    assert client.get(_VALUE, headers=auth("ops")).status_code == 200
    assert client.get(_VALUE, headers=auth("rep", "005A")).status_code == 403
    assert client.get(_VALUE, params={"process": "nothing"}).json()["milestones"] == []


_VALUE = "/api/v1/health/value"


def test_candidates_are_being_computed_until_they_answer_like_every_kpi(
    client: TestClient, auth: Auth
) -> None:
    # never computed on the request: the first ask finds the keeper starting on it
    first = client.get(_CANDIDATES)
    assert first.status_code == 202, first.text
    pending = first.json()
    assert pending["status"] == "being computed" and pending["previous"] is None
    assert first.headers["Retry-After"] == str(pending["retry_after_seconds"])
    assert list(pending)[-1] == "data_age_seconds" and "X-Data-Age-Seconds" in first.headers
    assert _pending(pending) == pending
    # the client polls until the answer for the view's generation is ready
    assert wait_for(lambda: client.get(_CANDIDATES).status_code == 200)
    # kpi_world stores no raw records: nothing to propose, and it says what it read
    answer = client.get(_CANDIDATES)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready" and body["as_of"] == pending["as_of"]
    assert list(body)[-1] == "data_age_seconds" and _printed(body, _CANDIDATES) == body
    assert body["candidates"] == [] and body["records_scanned"] == 0
    assert client.get(_CANDIDATES, headers=auth("ops")).status_code == 200
    assert client.get(_CANDIDATES, headers=auth("rep", "005A")).status_code == 403
    # a past view the store cannot cut is refused on the request, as for every KPI
    assert client.get(_CANDIDATES, params={"as_of": "2999-01-01"}).status_code == 422
    # a past view is computed off the request too
    then = (datetime.fromisoformat(body["as_of"]) - timedelta(days=30)).isoformat()
    past = client.get(_CANDIDATES, params={"as_of": then})
    assert past.status_code == 202 and past.json()["as_of"] == then
    assert wait_for(lambda: client.get(_CANDIDATES, params={"as_of": then}).status_code == 200)
    assert client.get(_CANDIDATES, params={"as_of": then}).json()["as_of"] == then


_CANDIDATES = "/api/v1/health/candidates"


def _pending(body: object) -> object:
    model: TypeAdapter[object] = TypeAdapter(CandidatesPending)
    return model.dump_python(model.validate_python(body), mode="json", by_alias=True)


def test_the_documented_being_computed_example_is_what_the_model_prints() -> None:
    example = _route(_CANDIDATES).responses[202]["content"]["application/json"]["example"]
    assert _pending(example) == example


def test_a_draft_is_compared_with_the_active_version(client: TestClient, auth: Auth) -> None:
    rules = (EXAMPLES / "salesforce.yaml").read_text()
    answer = client.post(_COMPARE, json={"rules": rules, "file": "draft.yaml"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert _printed(body, _COMPARE) == body
    # kpi_world keeps no raw records: the draft derives nothing, so there is nothing to compare
    assert body["draft"]["note"] and body["better"] is None and body["cells"] == []
    assert body["active"]["versions"] == {"crm": 1}
    bad = client.post(_COMPARE, json={"rules": "name: x\nprocesses: 3\n"})
    assert bad.status_code == 422 and bad.json()["errors"]
    assert (
        client.post(_COMPARE, json={"rules": rules}, params={"as_of": "2024-01-01"}).status_code
        == 422
    )
    rep = client.post(_COMPARE, json={"rules": rules}, headers=auth("rep", "005A"))
    assert rep.status_code == 403


_COMPARE = "/api/v1/health/compare"
