"""Targets over the API: set, list, read, remove, each role's limits, and the plan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.main import create_app
from app.core.database import Database
from app.core.settings import Settings
from app.services.targets.periods import Period
from tests.app.api.conftest import Auth
from tests.support.kpi_world import NOW, START, build

TARGETS = "/api/v1/targets"


@pytest.fixture
def client(db: Database, auth: Auth) -> Iterator[TestClient]:
    build(db)
    app = create_app(Settings(log_level="WARNING"), db)
    with TestClient(app, raise_server_exceptions=False, headers=auth("manager")) as test_client:
        yield test_client


def _quarter(moment: datetime) -> str:
    return Period.containing("quarter", moment).label


def _month(moment: datetime) -> str:
    return Period.containing("month", moment).label


def _won_in(start: date, end: date) -> tuple[float, int]:
    """What the world (tests/support/kpi_world.py) won in [start, end): amount and deals."""
    amount, count = 0.0, 0
    deals = 120
    for i in range(deals):
        created = START + timedelta(days=3 * i * 365 / (3 * deals))
        steps = min(3, i % 5)
        if i >= deals - 20 or not (steps == 3 and i % 3 == 0):
            continue
        closed = (created + timedelta(days=4 * steps + 5)).date()
        if start <= closed < end:
            amount, count = amount + 1000 + 10 * i, count + 1
    return amount, count


def test_a_manager_sets_lists_reads_and_removes_targets(client: TestClient) -> None:
    quarter = _quarter(NOW)
    body = {"process": "smb", "period": quarter, "amount": 50_000}
    created = client.post(TARGETS, json=body)
    assert created.status_code == 201, created.text
    target = created.json()
    assert (target["process"], target["period"], target["metric"], target["value"]) == (
        "smb",
        quarter,
        "amount",
        50_000,
    )
    assert target["team"] is None and target["owner"] is None
    assert target["created_by"] == "test manager"
    again = client.post(TARGETS, json={**body, "amount": 60_000})
    assert again.status_code == 200 and again.json()["id"] == target["id"]
    assert again.json()["value"] == 60_000
    team = client.post(TARGETS, json={**body, "team": "North", "amount": 30_000}).json()
    listed = client.get(TARGETS).json()
    assert listed["count"] == 2
    only_team = client.get(TARGETS, params={"team": "North", "period": quarter}).json()
    assert [t["id"] for t in only_team["data"]] == [team["id"]]
    assert client.get(f"{TARGETS}/{target['id']}").json()["value"] == 60_000
    removed = client.delete(f"{TARGETS}/{team['id']}")
    assert removed.status_code == 200 and removed.json()["team"] == "North"
    assert client.get(f"{TARGETS}/{team['id']}").status_code == 404
    assert client.delete(f"{TARGETS}/{team['id']}").status_code == 404
    assert client.get(f"{TARGETS}/99999999999999999999").status_code in (404, 422)


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"process": "enterprise", "period": "2026-Q1", "amount": 1}, "process"),
        ({"process": "smb", "period": "2026-Q5", "amount": 1}, "period"),
        ({"process": "smb", "period": "March", "amount": 1}, "period"),
        ({"process": "smb", "period": "2026-03", "amount": 1, "deals": 2}, "amount or deals"),
        ({"process": "smb", "period": "2026-03"}, "amount or deals"),
        ({"process": "smb", "period": "2026-03", "amount": -5}, "amount"),
        ({"process": "smb", "period": "2026-03", "deals": 3, "team": "X"}, "team"),
        ({"process": "smb", "period": "2026-03", "deals": 3, "owner": "005Z"}, "owner"),
        ({"process": "smb", "period": "2026-03", "deals": 3, "team": "North", "owner": "005A"},
         "both"),
        ({"process": "smb", "period": "2026-03", "deals": 3, "colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_a_target_that_cannot_be_is_a_422_naming_why(
    client: TestClient, body: dict[str, object], word: str
) -> None:
    response = client.post(TARGETS, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert word in response.json()["detail"]


def test_a_rep_reads_only_their_own_targets_and_changes_none(
    client: TestClient, auth: Auth
) -> None:
    quarter = _quarter(NOW)
    ann_target = client.post(
        TARGETS, json={"process": "smb", "period": quarter, "deals": 4, "owner": "005A"}
    ).json()
    bob_target = client.post(
        TARGETS, json={"process": "smb", "period": quarter, "deals": 4, "owner": "005B"}
    ).json()
    whole = client.post(TARGETS, json={"process": "smb", "period": quarter, "deals": 9}).json()
    ann = auth("rep", "005A")
    assert [t["id"] for t in client.get(TARGETS, headers=ann).json()["data"]] == [ann_target["id"]]
    other = client.get(TARGETS, params={"owner": "005B"}, headers=ann)
    assert other.status_code == 403 and "owner" in other.json()["detail"]
    assert client.get(f"{TARGETS}/{ann_target['id']}", headers=ann).status_code == 200
    plan = client.get(f"{TARGETS}/{ann_target['id']}/plan", headers=ann)
    assert plan.status_code == 200 and plan.json()["breakdown"] == []
    for target in (bob_target, whole):
        assert client.get(f"{TARGETS}/{target['id']}", headers=ann).status_code == 404
        assert client.get(f"{TARGETS}/{target['id']}/plan", headers=ann).status_code == 404
        assert client.delete(f"{TARGETS}/{target['id']}", headers=ann).status_code == 403
    changed = client.post(
        TARGETS,
        json={"process": "smb", "period": quarter, "deals": 1, "owner": "005A"},
        headers=ann,
    )
    assert changed.status_code == 403
    assert client.delete(f"{TARGETS}/{ann_target['id']}", headers=ann).status_code == 403
    assert client.get(f"{TARGETS}/{ann_target['id']}").json()["value"] == 4  # unchanged
    ops = auth("ops")
    assert client.post(TARGETS, json={"process": "smb", "period": quarter, "deals": 2}, headers=ops)
    assert client.get(TARGETS, headers=auth("ops")).json()["count"] == 3
    assert client.get(TARGETS, headers={"Authorization": ""}).status_code == 401


def test_the_plan_of_the_current_quarter(client: TestClient) -> None:
    quarter = _quarter(NOW)
    target = client.post(TARGETS, json={"process": "smb", "period": quarter, "deals": 12}).json()
    north = client.post(
        TARGETS, json={"process": "smb", "period": quarter, "deals": 6, "team": "North"}
    ).json()
    bob = client.post(
        TARGETS, json={"process": "smb", "period": quarter, "deals": 6, "owner": "005B"}
    ).json()
    response = client.get(f"{TARGETS}/{target['id']}/plan")
    assert response.status_code == 200, response.text
    assert "X-Data-Age-Seconds" in response.headers
    plan = response.json()
    period = Period.parse(quarter)
    _, deals = _won_in(period.start, min(period.end, NOW.date() + timedelta(days=1)))
    assert (plan["won_deals"], plan["won"]) == (deals, deals)
    assert plan["status"] in ("on_track", "behind", "reached", "unreachable")
    assert plan["gap"] == pytest.approx(max(0.0, 12 - deals - plan["open_forecast"]), abs=0.01)
    assert [m["milestone"] for m in plan["milestones"]] == [
        "created",
        "reply",
        "meeting",
        "proposal",
    ]
    weeks = len(plan["weeks"])
    assert weeks >= 1 and plan["weeks"][-1]["end"].startswith(period.end.isoformat())
    for row in plan["milestones"]:
        assert len(row["chances"]) == weeks
        for level in ("p50", "p80"):
            if row[level] is not None:
                assert len(row[level]["per_week"]) == weeks
                assert sum(row[level]["per_week"]) == row[level]["total"]
                assert row[level]["chance"] >= float(level[1:]) / 100 - 1e-9
    track = plan["track"]
    assert track["since"].startswith(period.start.isoformat())
    assert [m["milestone"] for m in track["milestones"]] == [
        "created",
        "reply",
        "meeting",
        "proposal",
    ]
    created = track["milestones"][0]
    opened = sum(
        1 for i in range(120) if period.starts_at <= START + timedelta(days=3 * i * 365 / 360) < NOW
    )
    assert created["actual"] == opened
    for row in track["milestones"]:
        assert row["status"] in ("ahead", "on_track", "behind", "no_plan")
        assert row["message"]
    assert {(b["team"], b["owner"]) for b in plan["breakdown"]} == {("North", None), (None, "005B")}
    assert {b["target_id"] for b in plan["breakdown"]} == {north["id"], bob["id"]}
    assert "Poisson-binomial" in plan["method"] and "52" in plan["rule"]
    past = client.get(f"{TARGETS}/{target['id']}/plan", params={"as_of": "1999-01-01"})
    assert past.status_code == 422 and "as_of" in past.json()["detail"]


def test_a_past_month_is_reached_or_missed_by_what_was_won(client: TestClient) -> None:
    month = Period.containing("month", NOW - timedelta(days=90))
    won, deals = _won_in(month.start, month.end)
    assert deals > 0
    below = client.post(
        TARGETS, json={"process": "smb", "period": month.label, "amount": won - 1}
    ).json()
    plan = client.get(f"{TARGETS}/{below['id']}/plan").json()
    assert (plan["status"], plan["won"], plan["won_deals"]) == ("reached", won, deals)
    assert plan["weeks"] == [] and plan["summary"].startswith("Reached")
    above = client.post(
        TARGETS, json={"process": "smb", "period": month.label, "deals": deals + 1, "team": "North"}
    ).json()
    plan = client.get(f"{TARGETS}/{above['id']}/plan").json()
    assert plan["status"] == "missed" and plan["summary"].startswith("Missed")
    assert plan["track"] is not None  # how the movement went, week by week, against the plan


def test_a_period_still_to_come_plans_from_now(client: TestClient) -> None:
    ahead = Period.containing("month", NOW + timedelta(days=45))
    target = client.post(
        TARGETS, json={"process": "smb", "period": ahead.label, "amount": 20_000}
    ).json()
    plan = client.get(f"{TARGETS}/{target['id']}/plan").json()
    assert plan["status"] in ("not_started", "unreachable") and plan["track"] is None
    assert plan["weeks"][0]["start"] <= datetime.now(UTC).isoformat()  # movement before it
    assert plan["win_value"] > 0 and plan["wins_needed"] is not None


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.dictionaries(
        st.sampled_from(["process", "period", "team", "owner", "as_of"]),
        st.one_of(
            st.text(max_size=20),
            st.sampled_from(["2026-Q1", "2026-13", "0000-01", "9999-Q4", "", "NaN"]),
        ),
        max_size=3,
    ),
    target=st.sampled_from(["", "/1", "/1/plan", "/-1/plan", "/9223372036854775808/plan"]),
)
def test_no_query_string_is_a_server_error(
    client: TestClient, params: dict[str, str], target: str
) -> None:
    answer = client.get(f"{TARGETS}{target}?{urlencode(params)}")
    assert answer.status_code < 500, (target, params, answer.text[:300])
