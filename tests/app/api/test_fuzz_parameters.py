"""Any query string on a KPI or sync endpoint is answered (200, or a 4xx problem naming the
parameter), never a 500: random values for every parameter the endpoints take."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.main import create_app
from app.core.database import Database
from app.core.settings import Settings
from tests.app.api.conftest import Auth
from tests.support.kpi_world import build

PATHS = [
    "/api/v1/funnel", "/api/v1/movement", "/api/v1/velocity", "/api/v1/stalled",
    "/api/v1/forecast", "/api/v1/opportunities", "/api/v1/opportunities/4",
    "/api/v1/reps/005A/scorecard", "/api/v1/sync-runs",
]  # fmt: skip
NAMES = [
    "start", "end", "process", "segment", "owner", "team", "connection", "by", "months",
    "limit", "cursor", "format", "outcome", "new_pipeline", "before", "status", "trigger",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "NaN", "inf",
                     "", "csv", "week", "month", "won", "open", "9223372036854775808"]),
)  # fmt: skip


@pytest.fixture
def client(db: Database, auth: Auth) -> Iterator[TestClient]:
    build(db)
    app = create_app(Settings(log_level="WARNING"), db)
    with TestClient(app, raise_server_exceptions=False, headers=auth("admin")) as test_client:
        yield test_client


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(PATHS),
    params=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4),
)
def test_no_query_string_is_a_server_error(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    answer = client.get(f"{path}?{urlencode(params)}")
    assert answer.status_code < 500, (path, params, answer.text[:300])
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_nul_character_in_the_path_or_a_parameter_is_a_422(db: Database, auth: Auth) -> None:
    with TestClient(create_app(Settings(log_level="WARNING"), db), headers=auth("admin")) as client:
        for url in ("/api/v1/mappings/versions?connection=a%00b", "/api/v1/connections/a%00b"):
            response = client.get(url)
            assert response.status_code == 422, url
            assert "NUL" in response.json()["detail"]
