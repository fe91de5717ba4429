"""The end-to-end demo behind `make demo`: it grows with every capability the product gains.

Today it prepares the database and serves the API, checking that it is ready.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from app.api.main import create_app
from app.cli.output import console, emit_json, fail
from app.config import Settings
from app.db import Database, current_revision, redact_url

__all__ = ["run_demo"]


@dataclass
class DemoReport:
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, name: str, **facts: Any) -> None:
        self.steps.append({"step": name, **facts})
        detail = ", ".join(f"{key}={value}" for key, value in facts.items())
        console.print(f"[green]✓[/] {name}" + (f"  [dim]{detail}[/]" if detail else ""))


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _start_api(settings: Settings, database: Database, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(settings, database),
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="api", daemon=True).start()
    return server


def _wait_ready(base_url: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=2.0)
            if response.status_code == 200:
                ready: dict[str, Any] = response.json()
                return ready
            last_error = response.text
        except httpx.TransportError as exc:
            last_error = str(exc)
        time.sleep(0.1)
    fail(f"the API did not become ready within {timeout:.0f} s: {last_error}")


def run_demo(settings: Settings, *, port: int, keep_running: bool, as_json: bool) -> None:
    report = DemoReport()
    if not _port_free(settings.host, port):
        fail(f"port {port} on {settings.host} is in use: pass --port to pick another")

    database = Database(settings.effective_database_url)
    database.check_reachable()
    database.upgrade()
    report.step(
        "database migrated",
        database=redact_url(database.url),
        revision=current_revision(database.engine),
    )

    base_url = f"http://{settings.host}:{port}"
    server = _start_api(settings, database, port)
    ready = _wait_ready(base_url)
    report.step("API ready", url=base_url, readyz=ready["status"], docs=f"{base_url}/docs")

    if as_json:
        emit_json({"api": base_url, "steps": report.steps})
    if not keep_running:
        server.should_exit = True
        time.sleep(0.3)
        return
    console.print(f"\nAPI docs: {base_url}/docs — press Ctrl-C to stop.")
    try:
        while not server.should_exit:
            time.sleep(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
