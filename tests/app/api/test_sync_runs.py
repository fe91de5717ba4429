"""Sync runs, sync status and Prometheus metrics over the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.core.crypto import generate_key
from app.core.database import Database
from app.core.settings import Settings
from app.models import Connection, SyncRun, SyncRunStream
from app.models.base import utcnow
from tests.app.api.conftest import Auth


@pytest.fixture
def client(db: Database, tmp_path: Path, auth: Auth) -> Iterator[TestClient]:
    settings = Settings(log_level="WARNING", secret_key=generate_key(), data_dir=tmp_path)  # type: ignore[arg-type]
    with db.session() as session:
        acme = Connection(name="acme", kind="export", settings={}, credentials_sealed="-")
        session.add(acme)
        session.flush()
        started = utcnow() - timedelta(minutes=10)
        for n in range(3):
            run = SyncRun(
                connection_id=acme.id,
                trigger="schedule" if n < 2 else "webhook",
                status="succeeded" if n != 1 else "partial",
                started_at=started + timedelta(minutes=n),
                finished_at=started + timedelta(minutes=n, seconds=5),
                api_calls=3,
                error="Task: boom" if n == 1 else None,
            )
            session.add(run)
            session.flush()
            session.add(
                SyncRunStream(
                    sync_run_id=run.id,
                    stream="Task",
                    records_read=10,
                    records_new=n,
                    error="boom" if n == 1 else None,
                )
            )
    with TestClient(create_app(settings, db), headers=auth("ops")) as test_client:
        yield test_client


def test_sync_runs_newest_first_with_filters_and_paging(client: TestClient) -> None:
    page = client.get("/api/v1/sync-runs", params={"limit": 2}).json()
    assert page["count"] == 2 and page["data"][0]["trigger"] == "webhook"
    assert page["data"][0]["streams"][0]["stream"] == "Task"
    rest = client.get("/api/v1/sync-runs", params={"before": page["next_before"]}).json()
    assert rest["count"] == 1 and rest["next_before"] is None
    partial = client.get("/api/v1/sync-runs", params={"status": "partial"}).json()
    assert [row["error"] for row in partial["data"]] == ["Task: boom"]
    bad = client.get("/api/v1/sync-runs", params={"status": "sideways"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_sync_status_shows_lag_streams_and_errors(client: TestClient) -> None:
    status = client.get("/api/v1/sync-status").json()
    [acme] = status["connections"]
    assert acme["last_run"]["trigger"] == "webhook"
    assert 7 * 60 < acme["lag_seconds"] < 9 * 60
    assert acme["errors"][0]["error"] == "Task: boom"
    assert acme["streams"][0]["stream"] == "Task" and acme["streams"][0]["new"] == 2
    assert status["queue"] == {"queued": 0, "running": 0}
    assert status["now"].endswith("Z") and acme["last_run"]["started_at"].endswith("Z")


def test_milestones_status_prints_what_the_api_answers(
    client: TestClient,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import worker as cli
    from app.services.state import clock

    monkeypatch.setattr(cli, "open_database", lambda: db)
    still = clock.utcnow()
    monkeypatch.setattr(clock, "utcnow", lambda: still)  # the data clock reads it both times
    cli.status(as_json=True)
    printed = json.loads(capsys.readouterr().out)
    answered = client.get("/api/v1/sync-status").json()
    for status in (printed, answered):  # the only values that move between the two reads
        status.pop("now")
        status["connections"][0].pop("lag_seconds")
    assert printed == answered


def test_metrics_expose_syncs_calls_errors_and_lag(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'milestones_records_synced_total{change="new",connection="acme",stream="Task"} 3.0' in text
    )
    assert 'milestones_crm_api_calls_total{connection="acme",purpose="sync"} 9.0' in text
    assert 'milestones_sync_stream_errors_total{connection="acme",stream="Task"} 1.0' in text
    assert 'milestones_sync_runs_total{connection="acme",status="partial"} 1.0' in text
    assert 'milestones_freshness_lag_seconds{connection="acme"}' in text
    assert 'milestones_sync_jobs{status="queued"} 0.0' in text


def test_metrics_need_an_ops_key(db: Database, tmp_path: Path, auth: Auth) -> None:
    settings = Settings(log_level="WARNING", secret_key=generate_key(), data_dir=tmp_path)  # type: ignore[arg-type]
    with TestClient(create_app(settings, db)) as anonymous:
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/metrics", headers=auth("rep", "005X")).status_code == 403
        assert anonymous.get("/metrics", headers=auth("ops")).status_code == 200
