"""A generated sales history served by the sandbox's Salesforce org, synced and mapped with
the shipped example rules, behind the web app: one world per test module, and a signed-in
browser-like client per role."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from app.api.main import create_app
from app.core.crypto import SecretBox, generate_key
from app.core.database import Database, upgrade
from app.core.settings import Settings
from app.models import CrmOwner, Opportunity, OpportunityState
from app.services.access.api_keys import create_key
from tests.conftest import FreshDatabases
from tests.support.writeback_world import World, crm_world

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebWorld:
    world: World
    app: FastAPI
    keys: dict[str, str]
    """Role -> API key; `rep` is the rep with the most open deals, `other_rep` another rep."""
    reps: dict[str, str]
    """`rep` and `other_rep` -> their CRM owner id."""

    @property
    def db(self) -> Database:
        return self.world.db

    def deal_of(self, owner: str) -> int:
        """An opportunity in a sales process owned by `owner`."""
        with self.db.sessions() as session:
            return int(
                session.scalars(
                    select(OpportunityState.opportunity_id)
                    .join(CrmOwner, CrmOwner.id == OpportunityState.owner_id)
                    .where(CrmOwner.external_id == owner, OpportunityState.process_id.is_not(None))
                    .order_by(OpportunityState.opportunity_id)
                ).first()
            )


def _reps(db: Database) -> tuple[str, str]:
    with db.sessions() as session:
        ranked = session.execute(
            select(CrmOwner.external_id, func.count(Opportunity.id))
            .join(Opportunity, Opportunity.owner_id == CrmOwner.id)
            .join(OpportunityState, OpportunityState.opportunity_id == Opportunity.id)
            .where(OpportunityState.process_id.is_not(None))
            .group_by(CrmOwner.external_id)
            .order_by(func.count(Opportunity.id).desc(), CrmOwner.external_id)
        ).all()
    return ranked[0][0], ranked[1][0]


@pytest.fixture(scope="module")
def web(
    fresh_databases: FreshDatabases,
    sales_history: Path,
    box: SecretBox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebWorld]:
    database = Database(fresh_databases.url("web"))
    upgrade(database.engine)
    try:
        with crm_world(database, box, sales_history, "salesforce") as world:
            rep, other = _reps(database)
            keys = {}
            with database.session() as session:
                for role in ("admin", "ops", "manager"):
                    keys[role] = create_key(session, f"web {role}", role)[1]
                keys["rep"] = create_key(session, "web rep", "rep", rep)[1]
                keys["other_rep"] = create_key(session, "web other rep", "rep", other)[1]
            settings = Settings(
                log_level="WARNING",
                secret_key=SecretStr(generate_key()),
                data_dir=tmp_path_factory.mktemp("web-data"),
            )
            app = create_app(settings, database)
            app.state.secret_box = box  # the key the world's credentials are sealed with
            yield WebWorld(world, app, keys, {"rep": rep, "other_rep": other})
    finally:
        database.dispose()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


SignIn = Callable[[str], TestClient]


@pytest.fixture
def sign_in(web: WebWorld) -> SignIn:
    """`sign_in("manager")`: a client with a signed-in session of that role's key (the app's
    lifespan is not entered: the KPI view loads on the first page and refreshes on reads)."""

    def make(role: str) -> TestClient:
        client = TestClient(web.app, raise_server_exceptions=False, follow_redirects=False)
        page = client.get("/sign-in")
        response = client.post(
            "/sign-in", data={"key": web.keys[role], "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == 303, response.text
        return client

    return make


# -- a real server and Debian's Chromium, for the browser tests ----------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class LiveServer:
    url: str
    web: WebWorld


@pytest.fixture(scope="module")
def live_server(web: WebWorld) -> Iterator[LiveServer]:
    """The web world's app under uvicorn on a free loopback port (its lifespan runs: the KPI
    view loads at start and takes in every finished pipeline pass)."""
    import socket
    import threading

    import uvicorn

    from tests.support.waiting import wait_for

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True, name="web-test-server")
    thread.start()
    assert wait_for(lambda: server.started), "the web app did not start"
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", web)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (`apt-get install chromium`; never `playwright
    install`). Missing: skipped here, while CI installs it first (`.ci/run`), so there it runs."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium first")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()
