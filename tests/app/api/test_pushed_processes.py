"""Fresh by push across API processes: two `milestones serve` processes on one database each
take in a finished pass by themselves; one request to each then answers with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from app.core.database import Database
from app.services.access.api_keys import create_key
from tests.app.api.test_pushed_view import OPEN_AT_CREATION, _customer_replies
from tests.app.cli.conftest import MILESTONES
from tests.support.kpi_world import build


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def servers(db: Database, tmp_path: Path) -> Iterator[list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILESTONES_")}
    env |= {"DATABASE_URL": db.url, "MILESTONES_DATA_DIR": str(tmp_path / "data"),
            "MILESTONES_LOG_LEVEL": "WARNING"}  # fmt: skip
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(
            [MILESTONES, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def _view(base: str) -> dict[str, object]:
    try:
        answer = httpx.get(f"{base}/readyz", timeout=5)
    except httpx.TransportError:
        return {}
    return dict(answer.json()) if answer.status_code == 200 else {}


def _caught_up_since(base: str, moment: float) -> bool:
    """Whether the server's KPI view has matched the database since `moment` (monotonic)."""
    age = _view(base).get("kpi_view_age_seconds")
    return isinstance(age, float | int) and time.monotonic() - float(age) > moment


def test_each_api_process_answers_a_finished_pass_at_its_first_request(
    db: Database, servers: list[str]
) -> None:
    ids = build(db)
    with db.session() as session:
        _, secret = create_key(session, "manager", "manager", None)
    headers = {"Authorization": f"Bearer {secret}"}
    path = f"/api/v1/opportunities/{OPEN_AT_CREATION}"
    deadline = time.monotonic() + 120  # hang guards, not durations under test
    for base in servers:
        while _view(base).get("kpi_view_as_of") is None:
            assert time.monotonic() < deadline, f"{base} never became ready"
            time.sleep(0.1)
        assert httpx.get(base + path, headers=headers).json()["milestone"] == "created"

    _customer_replies(db, ids)
    finished = time.monotonic()

    for base in servers:
        while not _caught_up_since(base, finished):  # readiness only: no KPI request
            assert time.monotonic() < deadline, f"{base} never took the pass in"
            time.sleep(0.05)
        answer = httpx.get(base + path, headers=headers).json()  # exactly one request each
        assert answer["milestone"] == "reply"
        assert datetime.fromisoformat(answer["as_of"])
