"""Freshness: from a customer action appearing in the sandbox CRM to the updated KPI over the
API and the written-back CRM field.

    python -m bench freshness [--modes webhook,poll] [--interval 30] [--actions 5]
                              [--backends sqlite,postgresql]

The whole deployment runs here: the sandbox CRM (HubSpot portal, sending v3-signed webhooks
to the API), `milestones serve`'s app on a loopback port and a worker with default settings
(two slots, the leader's schedule, a 1 s queue poll). The write-back fields are created in the
portal (`setup_fields`) before the worker starts; after the first sync the example ruleset
(`mappings/examples/hubspot.yaml`) is activated and a first write-back fills the fields.

Each action is a customer's email logged in the portal (`POST /crm/v3/objects/emails`,
INCOMING_EMAIL, associated with an open deal in a sales process whose last customer action is
on an earlier day, a different deal each time); the ruleset turns it into a milestone event.
The clock starts when the portal has answered and is read three times:

- `stored`: `GET /api/v1/sync-runs` (an ops key) reports a finished run that stored the email
  and the record is in the raw layer;
- `api`: `GET /api/v1/opportunities/{id}` (a manager key) shows the email as the evidence of a
  timeline event and the deal's last customer action at the email's time;
- `crm`: the deal's written-back last-customer-action property, read through the portal's API
  (`GET /crm/v3/objects/deals/{id}?properties=ms_last_customer_action`), shows the email's day.

- `webhook`: the connection's interval is an hour; only the webhook brings the change in.
- `poll`: no webhooks; the connection syncs every `--interval` seconds. Actions are spread
  over the interval, so the figure includes waiting for the next run.

Targets (issue 9), for the API answer and the CRM field: <= 15 s with the webhook,
<= interval + 10 s without.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from sqlalchemy import create_engine, select, text

from app.api.main import create_app
from app.core.crypto import SecretBox, generate_key
from app.core.database import Database, upgrade
from app.core.errors import ConflictError
from app.core.settings import Settings
from app.models import RawRecord
from app.services.access.api_keys import create_key
from app.services.connections.registry import create_connection
from app.services.mapping.activation import activate_ruleset
from app.services.writeback.crm_fields import setup_fields
from app.services.writeback.runs import run_writeback
from app.worker import Worker
from bench._database import POSTGRES_URL
from sandbox.crm import Sandbox, SandboxConfig, SandboxServer

RULESET = Path(__file__).resolve().parent.parent / "mappings" / "examples" / "hubspot.yaml"
LAST_ACTION = "ms_last_customer_action"
"""The HubSpot property write-back creates for `last_customer_action_date` (default name)."""
STAGES = ("stored", "api", "crm")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[Database]:
    if backend == "sqlite":
        database = Database(f"sqlite:///{folder / 'freshness.db'}")
        upgrade(database.engine)
        yield database
        database.dispose()
        return
    schema = f"bench_freshness_{os.getpid()}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    database = Database(f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}")
    upgrade(database.engine)
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Deployment:
    """Sandbox CRM + API + worker, wired as in production, on loopback."""

    database: Database
    crm: SandboxServer
    api_url: str
    headers: dict[str, str]
    worker: Worker
    api: uvicorn.Server
    box: SecretBox
    manager: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.worker.stop()
        self.worker.join(30)
        self.api.should_exit = True
        self.crm.stop()


@contextmanager
def deployment(
    export: Path,
    database: Database,
    *,
    webhooks: bool,
    interval: int,
    data_dir: Path,
    poll_seconds: float = 1.0,
) -> Iterator[Deployment]:
    settings = Settings(log_level="ERROR", secret_key=generate_key(), data_dir=data_dir)
    box = SecretBox.from_settings(settings)
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}"
    config = SandboxConfig(webhook_url=f"{api_url}/webhooks/hubspot" if webhooks else None)
    crm = SandboxServer(Sandbox.from_export(export, config)).start()
    info = crm.connection_info()["hubspot"]
    with database.session() as session:
        create_connection(
            session,
            box,
            name="portal",
            settings={
                "kind": "hubspot",
                "base_url": info["base_url"],
                "portal_id": str(info["portal_id"]),
                "streams": ["owners", "companies", "contacts", "deals", "emails", "meetings"],
            },
            secrets={"access_token": info["access_token"], "client_secret": info["client_secret"]},
            sync_interval_seconds=interval,
        )
        _, key = create_key(session, "freshness bench", "ops", None)
        _, manager_key = create_key(session, "freshness bench reader", "manager", None)
    fields = setup_fields(database, box, "portal")  # before the worker's first write-back
    if fields.problems:
        raise RuntimeError(f"write-back fields: {fields.problems}")
    api = uvicorn.Server(
        uvicorn.Config(create_app(settings, database), port=port, log_config=None, access_log=False)
    )
    threading.Thread(target=api.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not api.started and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = Worker(database, box, poll_seconds=poll_seconds).start()
    running = Deployment(
        database,
        crm,
        api_url,
        {"Authorization": f"Bearer {key}"},
        worker,
        api,
        box,
        {"Authorization": f"Bearer {manager_key}"},
    )
    try:
        yield running
    finally:
        running.stop()


def wait_first_sync(deployed: Deployment, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = httpx.get(
            f"{deployed.api_url}/api/v1/sync-runs", headers=deployed.headers, timeout=10
        ).json()["data"]
        if any(run["status"] == "succeeded" for run in runs):
            return
        time.sleep(0.5)
    raise RuntimeError("the first sync did not finish")


def activate_examples(deployed: Deployment, timeout: float = 300) -> None:
    """Activate the example ruleset, then write every deal's fields once (as a pipeline pass
    would) and wait until the API serves the ruleset's opportunities."""
    activate_ruleset(deployed.database, RULESET.read_text(), RULESET.name)
    deadline = time.monotonic() + timeout
    while True:  # a scheduled pass may be writing back at this moment
        try:
            report = run_writeback(deployed.database, deployed.box, "portal")
        except ConflictError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
            continue
        if report.error:
            raise RuntimeError(f"the first write-back failed: {report.error}")
        break
    while time.monotonic() < deadline:
        answer = httpx.get(
            f"{deployed.api_url}/api/v1/opportunities",
            params={"outcome": "open", "limit": 1},
            headers=deployed.manager,
            timeout=30,
        )
        if answer.status_code == 200 and answer.json()["data"]:
            return
        time.sleep(0.5)
    raise RuntimeError("the API does not serve the example ruleset's opportunities")


@dataclass(frozen=True)
class Deal:
    opportunity_id: int
    external_id: str
    written: str | None
    """The last customer action day in the CRM field before the action."""


def open_deals(deployed: Deployment, count: int) -> list[Deal]:
    """Open deals in a sales process whose last customer action (in the API and in the CRM
    field) is on a day before the sandbox's today, so an email today must change both."""
    today = deployed.crm.sandbox.now().date().isoformat()
    found: list[Deal] = []
    cursor: str | None = None
    while len(found) < count:
        params: dict[str, Any] = {"outcome": "open", "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(
            f"{deployed.api_url}/api/v1/opportunities",
            params=params,
            headers=deployed.manager,
            timeout=30,
        ).json()
        for row in page["data"]:
            last = row.get("last_customer_action_at")
            if last is not None and str(last)[:10] >= today:
                continue
            written = crm_last_action(deployed, str(row["external_id"]))
            if written is None or written < today:
                found.append(Deal(int(row["id"]), str(row["external_id"]), written))
            if len(found) == count:
                break
        cursor = page.get("next_cursor") or (page.get("meta") or {}).get("next_cursor")
        if not cursor:
            break
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} open deals with an earlier last action")
    return found


def _hubspot(deployed: Deployment) -> tuple[str, dict[str, str]]:
    info = deployed.crm.connection_info()["hubspot"]
    return str(info["base_url"]), {"Authorization": f"Bearer {info['access_token']}"}


def crm_last_action(deployed: Deployment, deal_id: str) -> str | None:
    """The deal's written-back last customer action day, read through the portal's API."""
    base_url, headers = _hubspot(deployed)
    response = httpx.get(
        f"{base_url}/crm/v3/objects/deals/{deal_id}",
        params={"properties": LAST_ACTION},
        headers=headers,
        timeout=10,
    )
    response.raise_for_status()
    value = response.json()["properties"].get(LAST_ACTION)
    if not value:
        return None
    text = str(value)
    if text.isdigit():  # epoch milliseconds at midnight UTC
        return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
    return text[:10]


def customer_email(deployed: Deployment, n: int, deal_id: str | None = None) -> str:
    """A customer's email logged in the portal now (on a deal: associated with it, type 210
    email to deal); returns its id."""
    base_url, headers = _hubspot(deployed)
    stamp = deployed.crm.sandbox.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body: dict[str, Any] = {
        "properties": {
            "hs_timestamp": stamp,
            "hs_email_direction": "INCOMING_EMAIL",
            "hs_email_subject": f"Re: our requirements ({n})",
            "hs_email_text": "Please find our requirements attached. Could you send a proposal?",
        }
    }
    if deal_id is not None:
        body["associations"] = [
            {
                "to": {"id": deal_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 210}],
            }
        ]
    response = httpx.post(
        f"{base_url}/crm/v3/objects/emails", json=body, headers=headers, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["id"])


def _stored(deployed: Deployment, email_id: str, known: set[int]) -> bool:
    """The API reports a finished run that stored the email (which is in the raw layer)."""
    with deployed.database.sessions() as session:
        stored = session.scalar(
            select(RawRecord.synced_at).where(
                RawRecord.stream == "emails", RawRecord.external_id == email_id
            )
        )
    if stored is None:
        return False
    runs = httpx.get(
        f"{deployed.api_url}/api/v1/sync-runs",
        params={"limit": 20},
        headers=deployed.headers,
        timeout=10,
    ).json()["data"]
    for run in runs:
        if run["status"] != "running" and run["id"] not in known:
            new = sum(s["new"] for s in run["streams"] if s["stream"] == "emails")
            if new and run["finished_at"] and run["finished_at"] >= _iso(stored):
                return True
            if run["finished_at"] and run["finished_at"] < _iso(stored):
                known.add(run["id"])
    return False


def seconds_until_served(deployed: Deployment, email_id: str, timeout: float) -> float | None:
    """From now until the API reports a finished run that stored the email; None past timeout."""
    started = time.monotonic()
    known: set[int] = set()
    while time.monotonic() - started < timeout:
        if _stored(deployed, email_id, known):
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def _api_shows(deployed: Deployment, deal: Deal, email_id: str, stamp: str) -> bool:
    """The KPI API's opportunity has the email as an event's evidence and as its last action."""
    answer = httpx.get(
        f"{deployed.api_url}/api/v1/opportunities/{deal.opportunity_id}",
        headers=deployed.manager,
        timeout=10,
    )
    if answer.status_code != 200:
        return False
    row = answer.json()
    row = row.get("data", row)
    evidence = any(
        event["evidence"]["stream"] == "emails" and event["evidence"]["external_id"] == email_id
        for event in row.get("timeline") or []
    )
    last = row.get("last_customer_action_at")
    return evidence and last is not None and str(last)[:19] >= stamp[:19]


def seconds_per_stage(
    deployed: Deployment, deal: Deal, n: int, timeout: float
) -> dict[str, float | None]:
    """Log a customer's email on the deal, then time the three stages (None past timeout)."""
    stamp = deployed.crm.sandbox.now().strftime("%Y-%m-%dT%H:%M:%S")
    day = stamp[:10]
    if deal.written is not None and deal.written >= day:
        raise RuntimeError(f"deal {deal.external_id}: its CRM field already shows {day}")
    email_id = customer_email(deployed, n, deal.external_id)
    started = time.monotonic()
    took: dict[str, float | None] = dict.fromkeys(STAGES)
    known: set[int] = set()
    checks = {
        "stored": lambda: _stored(deployed, email_id, known),
        "api": lambda: _api_shows(deployed, deal, email_id, stamp),
        "crm": lambda: crm_last_action(deployed, deal.external_id) == day,
    }
    while time.monotonic() - started < timeout and any(v is None for v in took.values()):
        for stage in STAGES:
            if took[stage] is None and checks[stage]():
                took[stage] = time.monotonic() - started
        time.sleep(0.2)
    return took


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def _summary(figures: list[float]) -> tuple[float | None, float | None]:
    if not figures:
        return None, None
    return round(statistics.median(figures), 2), round(max(figures), 2)


def measure(
    export: Path, backend: str, mode: str, interval: int, actions: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    webhooks = mode == "webhook"
    timeout = (15.0 if webhooks else interval) + 60
    figures: dict[str, list[float]] = {stage: [] for stage in STAGES}
    misses = dict.fromkeys(STAGES, 0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        _database(backend, Path(tmp)) as database,
        deployment(
            export,
            database,
            webhooks=webhooks,
            interval=3600 if webhooks else interval,
            data_dir=Path(tmp),
        ) as deployed,
    ):
        wait_first_sync(deployed)
        activate_examples(deployed)
        for n, deal in enumerate(open_deals(deployed, actions)):
            if not webhooks:
                time.sleep(rng.uniform(0, interval))  # a random moment of the cycle
            for stage, took in seconds_per_stage(deployed, deal, n, timeout).items():
                if took is None:
                    misses[stage] += 1
                else:
                    figures[stage].append(took)
    target = 15.0 if webhooks else interval + 10.0
    row: dict[str, Any] = {
        "backend": backend,
        "mode": mode,
        "interval_s": 3600 if webhooks else interval,
        "actions": actions,
    }
    for stage in STAGES:
        median, worst = _summary(figures[stage])
        row[f"{stage}_median_s"], row[f"{stage}_max_s"] = median, worst
    row["missed"] = sum(misses.values())
    row["target_s"] = target
    row["met"] = all(
        not misses[stage] and row[f"{stage}_max_s"] is not None and row[f"{stage}_max_s"] <= target
        for stage in ("api", "crm")
    )
    return row


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench freshness")
    parser.add_argument("--modes", default="webhook,poll")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--actions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", default="small")
    options = parser.parse_args(args)
    from sandbox.crm.runner import RunOptions, prepare_export

    export = prepare_export(RunOptions(seed=options.seed, size=options.size))
    return [
        measure(export, backend, mode, options.interval, options.actions, options.seed)
        for backend in options.backends.split(",")
        for mode in options.modes.split(",")
    ]
