"""Fresh by push across API processes: two `milestones serve` processes on one database each
take in a finished pass by themselves; one request to each then answers with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
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
from tests.support.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    return build(db)


@pytest.fixture
def servers(db: Database, world: dict[str, int], tmp_path: Path) -> Iterator[list[str]]:
    """Two API processes started on the history: each loads it before it serves."""
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


def _generation(base: str) -> int | None:
    generation = _view(base).get("kpi_view_generation")
    return generation if isinstance(generation, int) else None


def test_each_api_process_answers_a_finished_pass_at_its_first_request(
    db: Database, world: dict[str, int], servers: list[str]
) -> None:
    with db.session() as session:
        _, secret = create_key(session, "manager", "manager", None)
    headers = {"Authorization": f"Bearer {secret}"}
    path = f"/api/v1/opportunities/{OPEN_AT_CREATION}"
    before: dict[str, int] = {}
    for base in servers:
        assert wait_for(lambda base=base: _generation(base) is not None), f"{base} never ready"
        before[base] = _generation(base) or 0
        assert httpx.get(base + path, headers=headers).json()["milestone"] == "created"

    _customer_replies(db, world)

    for base in servers:  # readiness only while waiting: no KPI request pulls the pass
        assert wait_for(lambda base=base: (_generation(base) or 0) > before[base]), (
            f"{base} never took the pass in"
        )
        answer = httpx.get(base + path, headers=headers).json()  # exactly one request each
        assert answer["milestone"] == "reply"
        assert datetime.fromisoformat(answer["as_of"])
