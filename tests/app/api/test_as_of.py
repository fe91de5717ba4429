"""As-of is honest: asked about a past instant, the API answers what an export cut at that
instant answers.

A generated history with two years still to come after its `now` is cut at several instants
(`sandbox.history.cut`); each cut is imported into a database of its own as the product
imports any export, and its answers (funnel, stalled, forecast) are compared with the whole
history's database asked `as_of` that instant, and with one whose `MILESTONES_KPI_AS_OF` is
that instant; for a Salesforce org and a HubSpot portal alike (amounts, probabilities, close
dates and outcomes at the instant come from each CRM's own field history). One instant falls
in the life of an opportunity the CRM deleted later (a duplicate a rep created by mistake):
the cut holds it, and so must the past answer. Instants where the answer cannot be given are
a 422 that says why.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.settings import Settings
from app.services.access.api_keys import create_key
from sandbox.history import build_params, generate
from sandbox.history.cut import cut_export
from tests.conftest import FreshDatabases
from tests.support.history_cuts import CRMS, action_instant, deleted_lives, imported
from tests.support.waiting import wait_for

FUTURE_DAYS = 730
TARGETS = (30, 365, 600)
"""Days after the generator's `now` to cut at: two years, one year and four months before the
end of the history; and instants an opportunity deleted later was alive (`_while_alive`)."""


def _manifest(history: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((history / "manifest.json").read_text())
    return manifest


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _while_alive(history: Path, crm: str) -> list[datetime]:
    """For each opportunity created after the history's `now` and deleted later, the last
    action instant before its deletion, while it lived."""
    now = _instant(_manifest(history)["now"])
    instants = []
    for created, deleted in deleted_lives(history, crm):
        if created > now:
            moment = action_instant(history, deleted - timedelta(seconds=1), crm)
            assert created <= moment < deleted, "an action while the deleted opportunity lived"
            instants.append(moment)
    assert instants, "the history deletes an opportunity after its now"
    return instants


def _email_to_a_duplicate(history: Path) -> None:
    """A customer who writes to the account, from an address the CRM does not know, while a
    duplicate opportunity lives beside the one it duplicates: an export taken then gives the
    email to the duplicate (the nearest open opportunity), one taken after the duplicate's
    deletion to the original. The answer about an instant in between counts it once, on the
    duplicate."""
    opportunities = history / "future" / "salesforce" / "Opportunity.csv"
    with opportunities.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    now = _instant(_manifest(history)["now"])
    duplicate = next(
        r for r in rows if r["IsDeleted"] == "true" and _instant(r["CreatedDate"]) > now
    )
    written = _instant(duplicate["CreatedDate"]) + timedelta(hours=2)
    assert written < _instant(duplicate["SystemModstamp"]), "written while the duplicate lived"
    stamp = written.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    emails = history / "future" / "salesforce" / "EmailMessage.csv"
    with emails.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    email = dict.fromkeys(header, "")
    email.update(
        Id="02sHs0000ZZZ001IQA",
        RelatedToId=duplicate["AccountId"],
        Subject="Next steps",
        TextBody="Could you send us a proposal for the platform?",
        FromName="New Buyer",
        FromAddress="new.buyer@unknown-to-the-crm.example",
        ToAddress="sales@brightwave.example",
        Incoming="true",
        HasAttachment="false",
        Status="0",
        MessageDate=stamp,
        IsBounced="false",
        IsDeleted="false",
        CreatedDate=stamp,
        LastModifiedDate=stamp,
        SystemModstamp=stamp,
    )
    with emails.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow([email[name] for name in header])


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    generate(build_params(seed=5, size="small", future_days=FUTURE_DAYS), out)
    _email_to_a_duplicate(out)
    return out


@pytest.fixture(scope="module", params=sorted(CRMS))
def crm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def whole(
    crm: str,
    history: Path,
    fresh_databases: FreshDatabases,
    box: SecretBox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Database]:
    """The whole history, as an export taken at its end."""
    end = _instant(_manifest(history)["future_until"])
    database = imported(
        fresh_databases, box, cut_export(history, end, tmp_path_factory.mktemp("whole")), crm
    )
    yield database
    database.dispose()


@contextmanager
def _client(database: Database, **settings: Any) -> Iterator[TestClient]:
    with database.session() as session:
        _, secret = create_key(session, "as-of", "manager")
    app = create_app(Settings(log_level="WARNING", **settings), database)
    headers = {"Authorization": f"Bearer {secret}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


def _get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, (path, params, response.text)
    return response.json()


def _answers(client: TestClient, **params: Any) -> dict[str, Any]:
    """Funnel, stalled and forecast; rows without the database's own ids, answers without
    how long ago each database was filled (`data_age_seconds`)."""
    stalled = _get(client, "/api/v1/stalled", limit=1000, **params)
    assert stalled["next_cursor"] is None

    def answer(path: str, **more: Any) -> Any:
        found = _get(client, path, **more, **params)
        assert "data_age_seconds" in found
        del found["data_age_seconds"]
        return found

    return {
        "funnel": answer("/api/v1/funnel"),
        "stalled": {
            "as_of": stalled["as_of"],
            "total": stalled["total"],
            "rows": [{k: v for k, v in row.items() if k != "id"} for row in stalled["data"]],
        },
        "forecast": _calibrated(lambda: answer("/api/v1/forecast", months=12)),
    }


def _calibrated(forecast: Any) -> Any:
    """The forecast once the backtest that calibrates its band is ready: the current view
    answers at once with the model's own band while the keeper computes it."""
    found: list[Any] = []

    def ready() -> bool:
        found[:] = [forecast()]
        return bool(found[0]["band_calibration"]["state"] != "being computed")

    assert wait_for(ready, 300, step=0.2), "the band's backtest was never ready"
    return found[0]


def _equal(replayed: Any, cut: Any, where: str = "") -> None:
    """Equal, floats to the cent the answers round to."""
    if isinstance(cut, dict):
        assert isinstance(replayed, dict) and replayed.keys() == cut.keys(), where
        for key in cut:
            _equal(replayed[key], cut[key], f"{where}.{key}")
    elif isinstance(cut, list):
        assert isinstance(replayed, list) and len(replayed) == len(cut), where
        for i, (a, b) in enumerate(zip(replayed, cut, strict=True)):
            _equal(a, b, f"{where}[{i}]")
    elif isinstance(cut, float) and not isinstance(replayed, bool):
        assert replayed == pytest.approx(cut, abs=0.011), where
    else:
        assert replayed == cut, where


def test_the_past_answers_what_an_export_cut_then_answers(
    crm: str,
    history: Path,
    whole: Database,
    fresh_databases: FreshDatabases,
    box: SecretBox,
    tmp_path: Path,
) -> None:
    now = _instant(_manifest(history)["now"])
    instants = [action_instant(history, now + timedelta(days=d), crm) for d in TARGETS]
    instants += _while_alive(history, crm)
    cuts = {}
    for moment in instants:
        cut = cut_export(history, moment, tmp_path / moment.strftime("%Y%m%d"))
        database = imported(fresh_databases, box, cut, crm)
        with _client(database) as client:
            cuts[moment] = _answers(client)
        database.dispose()
    with _client(whole) as client:
        for moment in instants:
            replayed = _answers(client, as_of=moment.isoformat())
            assert _instant(replayed["funnel"]["as_of"]) == moment
            assert _instant(cuts[moment]["funnel"]["as_of"]) == moment, "the cut's own clock"
            _equal(replayed, cuts[moment], moment.isoformat())
        today = _answers(client)
    first = cuts[instants[0]]

    def created(answers: dict[str, Any]) -> int:
        return sum(p["milestones"][0]["reached"] for p in answers["funnel"]["processes"])

    assert created(first) < created(today), "the past is not today"
    assert first["forecast"]["months"] != today["forecast"]["months"]
    assert first["stalled"]["rows"], "a stalled list to compare"
    with _client(whole, kpi_as_of=instants[0].isoformat()) as client:
        _equal(_answers(client), first, "MILESTONES_KPI_AS_OF")


def test_every_kpi_endpoint_answers_as_of_the_instant_it_was_given(
    history: Path, whole: Database
) -> None:
    moment = _instant(_manifest(history)["now"]) + timedelta(days=100)
    with _client(whole) as client:
        table = _get(client, "/api/v1/opportunities", as_of=moment.isoformat(), limit=1)
        some = table["data"][0]
        paths = {
            "/api/v1/funnel": {},
            "/api/v1/movement": {},
            "/api/v1/velocity": {},
            "/api/v1/stalled": {},
            "/api/v1/forecast": {},
            "/api/v1/opportunities": {},
            f"/api/v1/opportunities/{some['id']}": {},
            f"/api/v1/reps/{some['owner']}/scorecard": {},
            "/api/v1/backtest": {"months": 3},
        }
        for path, params in paths.items():
            body = _get(client, path, as_of=moment.isoformat(), **params)
            assert _instant(body["as_of"]) == moment, path
        detail = _get(client, f"/api/v1/opportunities/{some['id']}", as_of=moment.isoformat())
        assert all(_instant(e["occurred_at"]) <= moment for e in detail["timeline"])
        day = _get(client, "/api/v1/funnel", as_of=moment.date().isoformat())
        assert _instant(day["as_of"]) == datetime.combine(moment.date(), datetime.min.time(), UTC)


def test_an_instant_the_view_cannot_answer_at_is_a_422_that_says_why(
    history: Path, whole: Database
) -> None:
    manifest = _manifest(history)
    with _client(whole) as client:
        clock = _instant(_get(client, "/api/v1/funnel")["as_of"])
        cases = {
            (clock + timedelta(seconds=1)).isoformat(): "the future is unknown",
            (_instant(manifest["history_start"]) - timedelta(days=30)).isoformat(): (
                "before the first opportunity"
            ),
            "last tuesday": "not a date",
        }
        for path in ("/api/v1/funnel", "/api/v1/stalled", "/api/v1/forecast"):
            for as_of, why in cases.items():
                response = client.get(path, params={"as_of": as_of})
                assert response.status_code == 422, (path, as_of, response.text)
                problem = response.json()
                assert why in problem["detail"] and "as_of" in problem["detail"], problem
        twice = client.get("/api/v1/funnel?as_of=2025-08-01&as_of=2025-09-01")
        assert twice.status_code == 422 and "more than once" in twice.json()["detail"]
