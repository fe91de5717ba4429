"""Health, readiness, request ids and problem+json errors, over the ASGI app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.core.database import Database
from app.core.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings(log_level="WARNING")


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as test_client:
        yield test_client


def test_healthz_answers_while_the_process_is_up(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_database_at_the_latest_migration(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["schema_revision"] == body["expected_revision"]


def test_readyz_is_a_503_problem_when_migrations_are_missing(
    settings: Settings, empty_database_url: str
) -> None:
    database = Database(empty_database_url)
    with TestClient(create_app(settings, database)) as client:
        response = client.get("/readyz")
    database.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 503
    assert "milestones db upgrade" in problem["detail"]


def test_readyz_is_a_503_problem_when_the_database_is_unreachable(settings: Settings) -> None:
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings, database)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["title"] == "Database unavailable"
    assert "cannot reach the database" in response.json()["detail"]


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    echoed = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["X-Request-ID"] == "trace-42"
    unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["X-Request-ID"] != "bad id\twith spaces"


def test_unknown_paths_are_problem_json(client: TestClient) -> None:
    response = client.get("/nope", headers={"X-Request-ID": "r-1"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/nope",
        "request_id": "r-1",
    }


def _app_with_probe_routes(settings: Settings, db: Database) -> FastAPI:
    app = create_app(settings, db)

    @app.get("/probe/validated")
    def validated(months: int = Query(ge=1, le=12)) -> dict[str, int]:
        return {"months": months}

    @app.get("/probe/crash")
    def crash() -> None:
        raise RuntimeError("token=sk-secret-in-a-bug")

    return app


def test_invalid_parameters_are_a_422_problem_naming_the_field(
    settings: Settings, db: Database
) -> None:
    with TestClient(_app_with_probe_routes(settings, db)) as client:
        response = client.get("/probe/validated", params={"months": 40})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"].startswith("query.months:")
    assert problem["errors"][0]["loc"] == ["query", "months"]


def test_unexpected_errors_are_a_500_problem_without_internals(
    settings: Settings, db: Database
) -> None:
    with TestClient(_app_with_probe_routes(settings, db), raise_server_exceptions=False) as client:
        response = client.get("/probe/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "sk-secret" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


def test_openapi_documents_the_health_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_a_request_without_a_key_is_refused_before_its_body_is_judged(
    client: TestClient,
) -> None:
    answer = client.post(
        "/api/v1/keys", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
