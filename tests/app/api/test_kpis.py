"""The KPI endpoints: shapes, filters, pagination and CSV, bad input, and each role's limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from app.api.deps import kpi_store_of
from app.api.main import create_app
from app.api.routes.kpis import router
from app.core.database import Database
from app.core.settings import Settings
from app.models import SyncRun
from app.models.base import utcnow
from app.services.state import clock
from tests.app.api.conftest import Auth
from tests.support.kpi_world import START, build
from tests.support.waiting import wait_for

KPIS = ("funnel", "movement", "velocity", "stalled", "forecast", "opportunities")
ANSWERS = {
    "/api/v1/funnel": "/api/v1/funnel",
    "/api/v1/movement": "/api/v1/movement",
    "/api/v1/velocity": "/api/v1/velocity",
    "/api/v1/stalled": "/api/v1/stalled",
    "/api/v1/forecast": "/api/v1/forecast",
    "/api/v1/opportunities": "/api/v1/opportunities",
    "/api/v1/opportunities/{opportunity_id}": "/api/v1/opportunities/4",
    "/api/v1/reps/{rep}/scorecard": "/api/v1/reps/005A/scorecard",
    "/api/v1/backtest": "/api/v1/backtest?months=3",
}


def _printed(route: APIRoute, body: object) -> object:
    """`body` read into the route's answer model and printed again, as JSON data."""
    model: TypeAdapter[object] = TypeAdapter(route.response_model)
    return model.dump_python(model.validate_python(body), mode="json", by_alias=True)


def _routes() -> list[APIRoute]:
    return [r for r in router.routes if isinstance(r, APIRoute)]


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    return build(db)


@pytest.fixture
def client(db: Database, world: dict[str, int], auth: Auth) -> Iterator[TestClient]:
    app = create_app(Settings(log_level="WARNING"), db)
    with TestClient(app, raise_server_exceptions=False, headers=auth("manager")) as test_client:
        yield test_client


def test_funnel_states_how_open_deals_are_censored(client: TestClient) -> None:
    body = client.get("/api/v1/funnel").json()
    assert body["method"] == "aalen-johansen" and "censored" in body["censoring"]
    (process,) = body["processes"]
    steps = process["milestones"]
    assert [s["milestone"] for s in steps] == ["created", "reply", "meeting", "proposal"]
    assert steps[0]["reached"] == 120
    assert steps[1]["reached"] == 96  # i % 5 >= 1
    assert steps[1]["conversion_to_next"]["open_censored"] >= 1
    # proposal: reached by i % 5 >= 3 (48 deals), won when also i % 3 == 0, among the closed
    assert 0.2 < steps[3]["conversion_to_won"]["estimate"] < 0.5


def test_every_kpi_answers_and_filters_narrow_it(client: TestClient) -> None:
    for name in KPIS:
        response = client.get(f"/api/v1/{name}")
        assert response.status_code == 200, (name, response.text)
    north = client.get("/api/v1/opportunities", params={"team": "North", "limit": 1000}).json()
    assert north["total"] == 60 and {r["owner"] for r in north["data"]} == {"005A"}
    nothing = client.get("/api/v1/funnel", params={"process": "enterprise"}).json()
    assert nothing["processes"] == []


def test_forecast_has_a_band_and_the_baseline(client: TestClient) -> None:
    # the backtest that calibrates the band is computed off the request: until it is ready
    # the forecast answers at once with the model's own band and says so
    def calibrated(params: dict[str, Any]) -> dict[str, Any] | None:
        body: dict[str, Any] = client.get("/api/v1/forecast", params=params).json()
        return None if body["band_calibration"]["state"] == "being computed" else body

    assert wait_for(lambda: calibrated({"months": 2}) is not None)
    body = calibrated({"months": 2})
    assert body is not None
    assert body["open_opportunities"] == 20
    first = body["months"][0]
    assert first["p10_amount"] <= first["expected_amount"] <= first["p90_amount"]
    assert "baseline_weighted_pipeline" in first
    assert len(body["months"]) == 2
    # a year of 120 deals scores no backtest origin: the band is the model's own, and says so
    calibration = body["band_calibration"]
    assert calibration["state"] == "no backtest" and calibration["corrections"] == []
    assert calibration["note"].startswith("the band is the model's own: too little history")
    assert all(m["band_scale"] == 1.0 for m in body["months"])
    # a filtered forecast borrows every opportunity's calibration: no backtest of its own
    team = calibrated({"months": 2, "team": "North"})
    assert team is not None and team["band_calibration"] == calibration


def test_movement_velocity_and_stalled(client: TestClient) -> None:
    movement = client.get("/api/v1/movement", params={"by": "month"}).json()
    assert movement["by"] == "month" and movement["per_process"]
    assert all("progress_value" in row for row in movement["per_rep"])
    velocity = client.get("/api/v1/velocity").json()
    reply = velocity["processes"][0]["steps"][0]
    assert (reply["from"], reply["to"]) == ("created", "reply")
    assert reply["median_days"] == pytest.approx(4.0)
    stalled = client.get("/api/v1/stalled").json()
    for row in stalled["data"]:  # the milestone's method, or, long past it, revive or close
        assert row["stalled"]
        assert row["guidance"].startswith("Next") or row["guidance"].endswith("close it as lost.")


def test_pagination_and_csv(client: TestClient) -> None:
    first = client.get("/api/v1/opportunities", params={"limit": 50}).json()
    assert first["count"] == 50 and first["next_cursor"]
    second = client.get(
        "/api/v1/opportunities", params={"limit": 50, "cursor": first["next_cursor"]}
    ).json()
    assert second["data"][0]["id"] == first["data"][-1]["id"] + 1
    csv = client.get("/api/v1/opportunities", params={"format": "csv", "limit": 5})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("id,external_id,name")
    assert len(csv.text.splitlines()) == 6


def test_opportunity_detail_has_its_timeline_with_evidence(client: TestClient) -> None:
    body = client.get("/api/v1/opportunities/4").json()  # i = 3: three milestones
    assert [e["milestone"] for e in body["timeline"]] == ["reply", "meeting", "proposal"]
    assert body["timeline"][0]["evidence"]["url"].startswith("https://crm.example/")
    assert 0.0 <= body["win_probability"] <= 1.0
    assert client.get("/api/v1/opportunities/99999").status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/v1/funnel", {"colour": "red"}, "colour"),
        ("/api/v1/funnel", {"start": "2025-06-01", "end": "2025-05-01"}, "end"),
        ("/api/v1/funnel", {"start": "yesterday"}, "start"),
        ("/api/v1/forecast", {"months": "13"}, "months"),
        ("/api/v1/forecast", {"months": "0"}, "months"),
        ("/api/v1/forecast", {"start": "2025-01-01"}, "start"),
        ("/api/v1/movement", {"by": "year"}, "by"),
        ("/api/v1/opportunities", {"cursor": "%%%"}, "cursor"),
        ("/api/v1/opportunities", {"limit": "0"}, "limit"),
    ],
)
def test_bad_input_is_a_4xx_problem_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(path, params=params)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    assert parameter in response.json()["detail"]


def test_every_endpoint_but_health_needs_a_key(client: TestClient) -> None:
    for path in ("/api/v1/funnel", "/api/v1/opportunities/1", "/api/v1/keys"):
        response = client.get(path, headers={"Authorization": ""})
        assert response.status_code == 401, path
    malformed = client.get("/api/v1/funnel", headers={"Authorization": "Bearer nope"})
    assert malformed.status_code == 401 and "malformed" in malformed.json()["detail"]
    basic = client.get("/api/v1/funnel", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401 and "Authorization" in basic.json()["detail"]
    assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200


def test_a_rep_sees_only_their_own(client: TestClient, auth: Auth) -> None:
    ann = auth("rep", "005A")
    mine = client.get("/api/v1/opportunities", params={"limit": 1000}, headers=ann).json()
    assert mine["total"] == 60 and {r["owner"] for r in mine["data"]} == {"005A"}
    assert client.get("/api/v1/opportunities/1", headers=ann).status_code == 200  # i=0: Ann
    assert client.get("/api/v1/opportunities/2", headers=ann).status_code == 404  # Bob's
    other = client.get("/api/v1/funnel", params={"owner": "005B"}, headers=ann)
    assert other.status_code == 403 and "owner" in other.json()["detail"]
    assert client.get("/api/v1/reps/005A/scorecard", headers=ann).status_code == 200
    assert client.get("/api/v1/reps/005B/scorecard", headers=ann).status_code == 403
    assert client.get("/api/v1/keys", headers=ann).status_code == 403
    assert client.get("/api/v1/mappings/versions", headers=ann).status_code == 403


def test_roles_and_key_lifecycle(client: TestClient, auth: Auth) -> None:
    ops = auth("ops")
    assert client.get("/api/v1/funnel", headers=ops).status_code == 403
    admin = auth("admin")
    created = client.post(
        "/api/v1/keys", json={"name": "wall", "role": "manager"}, headers=admin
    ).json()
    key = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/funnel", headers=key).status_code == 200
    listed = client.get("/api/v1/keys", headers=admin).json()
    assert created["key"] not in str(listed)
    assert client.delete(f"/api/v1/keys/{created['prefix']}", headers=admin).status_code == 200
    assert client.get("/api/v1/funnel", headers=key).status_code == 401
    bad = client.post("/api/v1/keys", json={"name": "x", "role": "rep"}, headers=admin)
    assert bad.status_code == 422 and "owner" in bad.json()["detail"]


def test_scorecard(client: TestClient) -> None:
    card = client.get("/api/v1/reps/005A/scorecard").json()
    assert {"progress_value_week", "progress_value_month", "advances_week", "stalled"} <= set(card)
    assert card["open_opportunities"] == 10
    assert client.get("/api/v1/reps/nobody/scorecard").status_code == 404
    by_name = client.get("/api/v1/reps/ann/scorecard")  # a name or e-mail, any case
    assert by_name.status_code == 200 and by_name.json() == {**card, "data_age_seconds": ANY}
    assert by_name.json()["rep"] == "005A"


def test_backtest_over_the_api(client: TestClient, auth: Auth) -> None:
    body = client.get("/api/v1/backtest", params={"months": 3}).json()
    # a year of 120 deals is too little history: the answer says so, and what it needs
    assert body["cells"] == [] and body["origins"] == []
    assert body["note"].startswith("too little history to forecast well")
    assert "the forecast needs at least 100 closed (20 won) over 180 days" in body["note"]
    assert body["history_needed"] == {"closed": 100, "won": 20, "days": 180}
    assert len(body["skipped"]) == 3
    weekly = client.get(
        "/api/v1/backtest", params={"from": START.date().isoformat(), "every": "week"}
    ).json()
    assert len(weekly["skipped"]) > 40  # every week of the year but the last month's
    csv_answer = client.get("/api/v1/backtest", params={"format": "csv", "team": "North"})
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert csv_answer.text.splitlines()[0].startswith("horizon_months,cumulative,part,method")
    rep = client.get("/api/v1/backtest", headers=auth("rep", "005A"))
    assert rep.status_code == 403
    for bad in ({"months": 999}, {"every": "day"}, {"from": "2024-13-01"}, {"horizons": 13}):
        assert client.get("/api/v1/backtest", params=bad).status_code == 422, bad
    assert client.get("/api/v1/backtest", params={"start": "2024-01-01"}).status_code == 422


def test_each_documented_example_is_what_its_answer_model_prints() -> None:
    routes = _routes()
    assert {r.path for r in routes} == set(ANSWERS)
    for route in routes:
        example = route.responses[200]["content"]["application/json"]["example"]
        assert _printed(route, example) == example, route.path


def test_each_answer_is_exactly_its_documented_model(client: TestClient) -> None:
    for route in _routes():
        body = client.get(ANSWERS[route.path]).json()
        assert _printed(route, body) == body, route.path


def test_every_answer_tells_in_its_body_how_old_its_data_is_as_its_header_does(
    client: TestClient, db: Database, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read once per response, written into the body and the header (and /readyz says it);
    while no sync arrives the answers' as_of stands still and the age grows."""
    paths = [*ANSWERS.values(), "/api/v1/stalled?format=csv", "/api/v1/funnel?team=North"]

    def ages() -> dict[str, tuple[float | None, str, str | None]]:
        found = {}
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text)
            body = answer.json() if "csv" not in path else {}
            found[path] = (
                body.get("data_age_seconds"),
                answer.headers["X-Data-Age-Seconds"],
                body.get("as_of") or body.get("history_until"),
            )
        return found

    before = ages()
    assert {(body, header) for body, header, _ in before.values()} == {(None, "none")}
    assert client.get("/readyz").json()["kpi_view_data_age_seconds"] is None
    finished = utcnow().replace(microsecond=0)
    with db.session() as session:
        session.add(SyncRun(connection_id=world["connection"], status="succeeded",
                            finished_at=finished))  # fmt: skip
    store = kpi_store_of(client.app)
    assert wait_for(lambda: store.data_age_seconds() is not None), "the view never saw the sync"

    seen: list[dict[str, tuple[float | None, str, str | None]]] = []
    for seconds in (30.04, 95.26, 4000.0):
        later = finished + timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "utcnow", lambda later=later: later)
        now = ages()
        for path, (body, header, _) in now.items():
            assert header == f"{round(seconds, 1):.1f}", path
            if "csv" not in path:
                assert body == float(header), path  # the same reading, to the same tenth
        assert client.get("/readyz").json()["kpi_view_data_age_seconds"] == round(seconds, 1)
        seen.append(now)
    for path in paths:  # no data arrived: every answer rests on the same instant
        assert len({found[path][2] for found in seen}) == 1, path


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01T00:00:00%2B14:00",
        "end=9999-12-31T23:59:59-14:00",
        "start=9999-12-31T00:00:00Z",
        "start=0001-01-01&end=0001-01-02",
    ],
)
@pytest.mark.parametrize("kpi", ["funnel", "movement", "velocity", "opportunities"])
def test_periods_at_the_edges_of_the_calendar_are_answered_not_a_server_error(
    client: TestClient, kpi: str, query: str
) -> None:
    answer = client.get(f"/api/v1/{kpi}?{query}")
    assert answer.status_code in (200, 422), answer.text
