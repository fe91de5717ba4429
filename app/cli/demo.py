"""The end-to-end demo behind `make demo`; it grows with every capability the product gains.

A generated sales history served by the sandbox CRM -> connections to its Salesforce org and
its HubSpot portal -> syncs into the raw layer -> the shipped example processes, one ruleset
per connection, turn customer actions into milestone events -> the API serves KPIs to a
manager's key, both CRMs together or one at a time -> a target for each process and the
movement it requires -> KPI fields are written back onto every opportunity and deal -> a
worker keeps it all fresh: the sandbox clock moves, customers act, and the worker syncs,
maps, refreshes and writes back on its schedule.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import uvicorn
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.api.main import create_app
from app.cli.output import console, emit_json, fail
from app.core.crypto import SecretBox
from app.core.database import Database, current_revision, redact_url
from app.core.settings import Settings
from app.models import (
    Connection,
    CrmOwner,
    MilestoneEvent,
    Opportunity,
    OpportunityState,
    Process,
    WritebackRecord,
)
from app.services.access.api_keys import create_key
from app.services.connections.changes import upsert_connection
from app.services.jobs.queue import ClaimedJob, enqueue
from app.services.mapping.activation import activate_ruleset
from app.services.state.clock import data_clock
from app.services.sync.runs import SyncReport, sync_connection
from app.services.sync.status import list_runs
from app.services.targets.periods import Period
from app.services.writeback.crm_fields import setup_fields
from app.services.writeback.runs import run_writeback
from app.worker import Worker
from mappings import EXAMPLES
from sandbox.crm.runner import RunOptions, SandboxRunError, prepare_export, start_sandbox
from sandbox.crm.server import SandboxServer

__all__ = ["DEMO_CONNECTION", "HUBSPOT_CONNECTION", "run_demo"]


DEMO_CONNECTION = "sandbox-salesforce"
HUBSPOT_CONNECTION = "sandbox-hubspot"
RULES = {DEMO_CONNECTION: "salesforce.yaml", HUBSPOT_CONNECTION: "hubspot.yaml"}


@dataclass
class DemoReport:
    quiet: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, name: str, **facts: Any) -> None:
        self.steps.append({"step": name, **facts})
        if self.quiet:
            return
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


def _start_api(
    settings: Settings, database: Database, port: int
) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        create_app(settings, database),
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    return server, thread


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


def _start_crm(settings: Settings, seed: int, size: str, speed: float) -> SandboxServer:
    options = RunOptions(seed=seed, size=size, speed=speed, cache_dir=settings.data_dir / "sandbox")
    try:
        return start_sandbox(options)
    except SandboxRunError as error:
        fail(f"the sandbox CRM cannot start: {error}")


def _history(settings: Settings, seed: int, size: str) -> dict[str, Any]:
    """Generate (once; cached by seed and size) the sales history the sandbox serves."""
    options = RunOptions(seed=seed, size=size, cache_dir=settings.data_dir / "sandbox")
    try:
        folder = prepare_export(options)
    except SandboxRunError as error:
        fail(f"the sales history cannot be generated: {error}")
    counts = json.loads((folder / "manifest.json").read_text()).get("counts", {})
    salesforce = counts.get("salesforce", {})
    return {
        "folder": str(folder),
        "opportunities": salesforce.get("Opportunity"),
        "activities": sum(salesforce.get(name, 0) for name in ("Task", "Event", "EmailMessage")),
    }


def _connect(database: Database, box: SecretBox, server: SandboxServer, interval: int) -> int:
    info = server.connection_info()["salesforce"]
    with database.session() as session:
        connection = upsert_connection(
            session,
            box,
            name=DEMO_CONNECTION,
            settings={
                "kind": "salesforce",
                "auth_flow": "client_credentials",
                "token_url": info["token_url"],
                "client_id": info["client_id"],
                "ca_file": info["ca_file"],
                # the org's custom fields that the example processes read
                "extra_fields": {
                    "Opportunity": ["Segment__c"],
                    "Account": ["Segment__c"],
                    "Event": ["Meeting_Outcome__c"],
                },
                "bulk_poll_seconds": 0.2,
                # the first write-back (every opportunity) goes out as a Bulk API 2.0 job, as
                # in a large org; the worker's later ones, a few records, as sObject Collections
                "writeback_bulk_threshold": 200,
            },
            secrets={"client_secret": info["client_secret"]},
        )
        return _fresh(session, connection, interval)


def _connect_hubspot(
    database: Database, box: SecretBox, server: SandboxServer, interval: int
) -> int:
    info = server.connection_info()["hubspot"]
    with database.session() as session:
        connection = upsert_connection(
            session,
            box,
            name=HUBSPOT_CONNECTION,
            settings={
                "kind": "hubspot",
                "base_url": info["base_url"],
                "portal_id": str(info["portal_id"]),
                # the portal's custom properties that the example processes read
                "extra_fields": {"deals": ["segment"], "companies": ["segment"]},
            },
            secrets={"access_token": info["access_token"], "client_secret": info["client_secret"]},
        )
        return _fresh(session, connection, interval)


def _fresh(session: Session, connection: Connection, interval: int) -> int:
    connection.sync_interval_seconds = interval
    # every demo run serves a new sandbox CRM: what an earlier run wrote is not there
    session.execute(delete(WritebackRecord).where(WritebackRecord.connection_id == connection.id))
    return connection.id


def _start_worker(database: Database, box: SecretBox, connection_id: int) -> dict[str, Any]:
    """Start the worker and run one pipeline pass through its queue, to show it working."""
    done = threading.Event()
    seen: dict[str, Any] = {}

    def on_job(_job: ClaimedJob, result: dict[str, Any]) -> None:
        seen.update(result)
        done.set()

    worker = Worker(
        database, box, concurrency=2, poll_seconds=0.5, leader_check_seconds=1.0, on_job=on_job
    ).start()
    enqueue(database, connection_id, "demo")
    if not done.wait(60):
        fail("the worker did not finish its first job within 60 s")
    sync = seen.get("sync") or {}
    return {
        "worker": worker,
        "leader": worker.is_leader,
        "status": seen.get("status"),
        "new": sync.get("records_new"),
        "changed": sync.get("records_changed"),
    }


def _activate_rules(database: Database) -> dict[str, Any]:
    """Each connection's shipped example processes become its active ruleset (events
    derived): the Salesforce org and the HubSpot portal side by side."""
    facts: dict[str, Any] = {}
    for connection, file in RULES.items():
        path = EXAMPLES / file
        result = activate_ruleset(
            database, path.read_text(), str(path), created_by="demo", connections=[connection]
        )
        with database.sessions() as session:  # all of them: a second demo run adds none
            events = session.scalar(
                select(func.count(MilestoneEvent.id)).where(
                    MilestoneEvent.ruleset_version_id == result.version_id
                )
            )
        facts[connection] = {
            "version": result.version,
            "events": int(events or 0),
            "opportunities": sum(run.opportunities for run in result.runs),
        }
    return facts


def _role_keys(database: Database) -> dict[str, str]:
    """One key per role for the web app and the API; the rep's is the rep with the most
    opportunities in the demo's Salesforce org."""
    with database.session() as session:
        rep = session.execute(
            select(CrmOwner.external_id, CrmOwner.name)
            .join(Opportunity, Opportunity.owner_id == CrmOwner.id)
            .join(Connection, Connection.id == CrmOwner.connection_id)
            .where(Connection.name == DEMO_CONNECTION)
            .group_by(CrmOwner.external_id, CrmOwner.name)
            .order_by(func.count(Opportunity.id).desc(), CrmOwner.external_id)
            .limit(1)
        ).first()
        keys = {
            role: create_key(session, f"demo {role}", role)[1]
            for role in ("admin", "ops", "manager")
        }
        if rep is not None:
            keys["rep"] = create_key(session, f"demo rep {rep.name}", "rep", rep.external_id)[1]
    return keys


def _funnel(base_url: str, key: str, connection: str | None = None) -> dict[str, str]:
    """Per process, opportunities created and won (of one connection, or all)."""
    response = httpx.get(
        f"{base_url}/api/v1/funnel",
        params={"connection": connection} if connection else None,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    if response.status_code != 200:
        fail(f"GET /api/v1/funnel answered {response.status_code}: {response.text[:300]}")
    facts: dict[str, str] = {}
    for process in response.json().get("processes", []):
        steps = process.get("milestones", [])
        if steps:
            facts[process["process"]] = (
                f"{steps[0]['reached']} created -> {steps[-1]['reached']} {steps[-1]['milestone']}"
            )
    return facts


def _health_facts(base_url: str, key: str) -> dict[str, Any]:
    """Process health in one line: drift flagged, milestones that add no information or are
    reached out of order (both answers take milliseconds)."""
    found: dict[str, Any] = {}
    for part in ("drift", "value"):
        response = httpx.get(
            f"{base_url}/api/v1/health/{part}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )
        if response.status_code != 200:
            fail(f"GET /api/v1/health/{part} answered {response.status_code}")
        found[part] = response.json()
    drift, value = found["drift"], found["value"]
    return {
        "drift_flagged": f"{drift['flagged']} of {drift['tested']} tests",
        "milestones_valued": len(value["milestones"]),
        "add_no_information": ", ".join(value["no_information"]) or "none",
        "often_out_of_order": ", ".join(value["out_of_order"]) or "none",
    }


def _funnel_facts(base_url: str, key: str) -> dict[str, Any]:
    """What a manager sees first: both CRMs together, then each alone."""
    return {
        "api_key": key,
        **_funnel(base_url, key),
        "by_connection": {name: _funnel(base_url, key, name) for name in RULES},
    }


def _last_quarter_won(database: Database, settings: Settings) -> tuple[Period, dict[str, float]]:
    """The quarter the data clock is in, and what each process won in the one before it."""
    with database.sessions() as session:
        now = data_clock(session, settings.kpi_as_of_value)
        quarter = Period.containing("quarter", now)
        before = Period.containing("quarter", quarter.starts_at - timedelta(days=1))
        rows = session.execute(
            select(Process.key, func.sum(OpportunityState.amount))
            .join(Process, Process.id == OpportunityState.process_id)
            .where(
                OpportunityState.outcome == "won",
                OpportunityState.deleted.is_(False),
                OpportunityState.closed_at >= before.starts_at,
                OpportunityState.closed_at < before.ends_at,
            )
            .group_by(Process.key)
        )
        return quarter, {key: float(total or 0) for key, total in rows}


def _targets(database: Database, settings: Settings, base_url: str, key: str) -> dict[str, Any]:
    """A manager sets each process's target for this quarter (10 % more than it won the
    quarter before) and reads the movement it requires at every milestone."""
    quarter, won = _last_quarter_won(database, settings)
    headers = {"Authorization": f"Bearer {key}"}
    facts: dict[str, Any] = {"period": quarter.label}
    for process, amount in sorted(won.items()):
        target = max(10_000, round(amount * 1.1, -3))
        created = httpx.post(
            f"{base_url}/api/v1/targets",
            json={"process": process, "period": quarter.label, "amount": target},
            headers=headers,
            timeout=60,
        )
        if created.status_code not in (200, 201):
            fail(f"POST /api/v1/targets answered {created.status_code}: {created.text[:300]}")
        answer = httpx.get(
            f"{base_url}/api/v1/targets/{created.json()['id']}/plan", headers=headers, timeout=120
        )
        if answer.status_code != 200:
            fail(f"GET /api/v1/targets/.../plan answered {answer.status_code}: {answer.text[:300]}")
        plan = answer.json()
        first = next((m for m in plan["milestones"] if m["position"] > 0 and m["p80"]), None)
        facts[process] = {
            "target": target,
            "status": plan["status"],
            "won": plan["won"],
            "gap": plan["gap"],
            "for_80_percent": {
                "milestone": first["name"],
                "deals": first["p80"]["total"],
                "most_in_a_week": max(first["p80"]["per_week"]),
            }
            if first
            else None,
        }
    return facts


def _write_back(database: Database, box: SecretBox) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for connection in RULES:
        fields = setup_fields(database, box, connection)
        if not fields.ok:
            fail(
                f"{connection}: write-back fields could not be set up: {'; '.join(fields.problems)}"
            )
        written = run_writeback(database, box, connection)
        facts[connection] = {
            "fields_created": len(fields.created),
            "status": written.status,
            "written": written.records_written,
            "write_calls": written.write_calls,
            "bulk_jobs": written.bulk_jobs,
        }
    return facts


def _print_latest(database: Database, after: int) -> int:
    """One line per sync the worker finished since run `after`; the newest run id."""
    with database.sessions() as session:
        runs = [run for run in list_runs(session, limit=10) if run.id > after]
    for run in reversed(runs):
        if run.status == "running":
            continue
        console.print(
            f"[dim]{time.strftime('%H:%M:%S')}[/] {run.trigger} sync: "
            f"{run.records_new} new, {run.records_changed} changed, "
            f"{run.api_calls} API calls ({run.status})"
        )
        after = max(after, run.id)
    return after


def _sync_facts(report: SyncReport) -> dict[str, Any]:
    streams = report.streams
    return {
        "status": report.status,
        "records": sum(row.read for row in streams),
        "new": sum(row.new for row in streams),
        "changed": sum(row.changed for row in streams),
        "api_calls": report.api_calls,
    }


def run_demo(
    settings: Settings,
    *,
    port: int,
    keep_running: bool,
    as_json: bool,
    seed: int = 1,
    size: str = "small",
    speed: float = 1440.0,
    resync_seconds: float = 30.0,
) -> None:
    report = DemoReport(quiet=as_json)
    received: list[str] = []  # a handler only records the signal: the demo acts on it
    signal.signal(signal.SIGTERM, lambda signum, _frame: received.append("SIGTERM"))
    if not _port_free(settings.host, port):
        fail(f"port {port} on {settings.host} is in use: pass --port to pick another")

    started = time.perf_counter()
    report.step("sales history ready", seed=seed, size=size, **_history(settings, seed, size))
    crm = _start_crm(settings, seed, size, speed)
    report.step(
        "sandbox CRM up",
        salesforce=crm.salesforce_url,
        hubspot=crm.hubspot_url,
        seconds=round(time.perf_counter() - started, 1),
    )

    database = Database(settings.effective_database_url)
    database.check_reachable()
    database.upgrade()
    report.step(
        "database migrated",
        database=redact_url(database.url),
        revision=current_revision(database.engine),
    )

    box = SecretBox.from_settings(settings)
    connection_id = _connect(database, box, crm, int(resync_seconds))
    synced = sync_connection(database, box, DEMO_CONNECTION, trigger="demo")
    report.step("Salesforce org synced into the raw layer", **_sync_facts(synced))
    _connect_hubspot(database, box, crm, int(resync_seconds))
    portal = sync_connection(database, box, HUBSPOT_CONNECTION, trigger="demo")
    report.step("HubSpot portal synced into the raw layer", **_sync_facts(portal))
    report.step(
        "milestone rules activated, one ruleset per connection", **_activate_rules(database)
    )

    base_url = f"http://{settings.host}:{port}"
    api, api_thread = _start_api(settings, database, port)
    ready = _wait_ready(base_url)
    report.step("API ready", url=base_url, readyz=ready["status"], docs=f"{base_url}/docs")
    keys = _role_keys(database)
    report.step("KPIs served to managers", **_funnel_facts(base_url, keys["manager"]))
    report.step("process health read", **_health_facts(base_url, keys["manager"]))
    report.step(
        "targets set, with the movement they require",
        **_targets(database, settings, base_url, keys["manager"]),
    )
    report.step("KPI fields written back into both CRMs", **_write_back(database, box))

    started_worker = _start_worker(database, box, connection_id)
    worker: Worker = started_worker.pop("worker")
    report.step("worker running", **started_worker)

    report.step("web app ready", url=f"{base_url}/", roles=", ".join(keys))
    if not as_json:
        console.print(
            f"\n[bold]Web app: {base_url}/[/] — sign in with the key of a role:", soft_wrap=True
        )
        for role, secret in keys.items():  # one line each, never folded: copied as they are
            console.print(f"  {role:<8} {secret}", soft_wrap=True, highlight=False)
    if as_json:
        emit_json({"api": base_url, "web": f"{base_url}/", "keys": keys, "steps": report.steps})
    try:
        if not keep_running:
            return
        console.print(
            f"\nAPI docs: {base_url}/docs — the sandbox clock runs at {speed:g}x "
            f"(a day a minute at 1440x), so customers keep acting; the worker syncs every "
            f"{resync_seconds:g} s (`milestones status` shows it). Ctrl-C to stop."
        )
        last = synced.run_id
        while not api.should_exit and not received:
            time.sleep(0.5)
            last = _print_latest(database, last)
    except KeyboardInterrupt:
        received.append("Ctrl-C")
    finally:
        worker.stop()
        worker.join(30)
        api.should_exit = True
        api_thread.join(60)  # its shutdown waits for the KPI view's threads to finish
        crm.stop()
        time.sleep(0.3)
        if keep_running:
            console.print(
                f"Demo stopped ({received[0] if received else 'the API ended'}): the worker, "
                "the API and the sandbox CRM are shut down; the data stays in "
                f"{redact_url(database.url)}."
            )
