"""Write-back into the sandbox CRM: write calls per changed record, and wall time.

    python -m bench writeback [--opportunities 100000] [--crms salesforce,hubspot]

For each CRM, a sandbox org (or portal) holds N opportunities (deals) and a fresh SQLite
database holds their opportunity state in one active sales process (four milestones; 30 %
still open), built directly in the tables. Three runs follow, with the same `now`:

- `all changed`: nothing written yet, so every record is sent. Timed from a cold start: the
  KPI store loads every state and fits the model, the values are computed and compared, the
  fields are checked, and every batch is written and recorded.
- `unchanged`: the same values again; no API call at all.
- `1% changed`: the amounts of 1 % of the won deals change in opportunity state; only those
  records are sent.

`expected_write_calls` is ceil(changed / 200) on Salesforce (sObject Collections, which the
bench keeps to with `writeback_bulk_threshold: null`; above the default 10,000 changed records
production runs use Bulk API 2.0 ingest jobs instead: `--bulk-threshold 10000` measures those,
and `expected_write_calls` is then ceil(changed / 10,000) jobs) and
ceil(changed / 100) on HubSpot (batch update); `api_calls` adds the constant (a login on
Salesforce, one describe or property list). HubSpot is paced at the sandbox's 190 calls per
10 seconds (Professional/Enterprise), which bounds its wall time at about N / 100 / 19 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2025, 7, 1, tzinfo=UTC)
MILESTONES = (
    ("reply", "writes"),
    ("meeting", "does"),
    ("requirements", "writes"),
    ("proposal", "says"),
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _external_id(crm: str, index: int) -> str:
    from sandbox.crm.ids import to18

    if crm == "salesforce":
        return to18(f"0065g{index:010d}")
    return str(30_000_000_000 + index)


def _export(root: Path, crm: str, count: int) -> Path:
    """A minimal export folder: one user, and `count` opportunities or deals."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": "milestone-sync-export/1",
        "seed": 0,
        "size": "bench",
        "now": _stamp(NOW),
        "history_start": _stamp(NOW - timedelta(days=400)),
        "future_until": _stamp(NOW),
        "counts": {},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    created = _stamp(NOW - timedelta(days=400))
    system = ["IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"]
    (root / "salesforce").mkdir(exist_ok=True)
    (root / "hubspot").mkdir(exist_ok=True)
    with (root / "salesforce" / "User.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "Username", "Name", "IsActive", *system])
        writer.writerow(
            ["0055g0000000001AAA", "rep@example.com", "Rep", "true", "false", *[created] * 3]
        )
    if crm == "salesforce":
        with (root / "salesforce" / "Opportunity.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Id", "Name", "Amount", "StageName", *system])
            for i in range(count):
                writer.writerow(
                    [
                        _external_id(crm, i),
                        f"Deal {i}",
                        1000 + i % 500,
                        "Open",
                        "false",
                        *[created] * 3,
                    ]
                )
    else:
        with (root / "hubspot" / "deals.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["id", "createdAt", "updatedAt", "dealname", "amount", "hs_lastmodifieddate"]
            )
            for i in range(count):
                writer.writerow(
                    [_external_id(crm, i), created, created, f"Deal {i}", 1000 + i % 500, created]
                )
    return root


def _state(database: Any, connection_id: int, crm: str, count: int) -> None:
    """Opportunities, their process and milestone events, and state rebuilt from them."""
    from sqlalchemy import insert

    from app.models import (
        Milestone,
        MilestoneEvent,
        Opportunity,
        OpportunityProcess,
        Process,
        RulesetVersion,
    )
    from app.services.state.opportunities import rebuild_states

    with database.session() as session:
        version = RulesetVersion(version=1, name="bench", source="", checksum="x", is_active=True)
        session.add(version)
        session.flush()
        process = Process(
            ruleset_version_id=version.id, key="smb", name="SMB", position=0, segment_selector={}
        )
        session.add(process)
        session.flush()
        milestones = [
            Milestone(
                process_id=process.id,
                key=key,
                name=key.title(),
                position=n + 1,
                kind=kind,
                guidance=f"Get the {key}.",
            )
            for n, (key, kind) in enumerate(MILESTONES)
        ]
        session.add_all(milestones)
        session.flush()
        version_id, process_id = version.id, process.id
        milestone_ids = [m.id for m in milestones]
    opportunities, links, events = [], [], []
    start = NOW - timedelta(days=400)
    for i in range(count):
        created = start + timedelta(minutes=(i * 360 * 24 * 60) // count)
        steps = i % 5
        is_open = i % 10 >= 7
        won = not is_open and steps >= 3 and i % 3 == 0
        closed = None if is_open else min(created + timedelta(days=6 * steps + 10), NOW)
        opportunities.append(
            {
                "id": i + 1,
                "connection_id": connection_id,
                "external_id": _external_id(crm, i),
                "name": f"Deal {i}",
                "amount": 1000 + i % 500,
                "outcome": "open" if is_open else ("won" if won else "lost"),
                "closed_at": closed,
                "crm_created_at": created,
                "deleted": False,
                "updated_at": NOW,
            }
        )
        links.append(
            {"ruleset_version_id": version_id, "opportunity_id": i + 1, "process_id": process_id}
        )
        for step in range(steps):
            events.append(
                {
                    "ruleset_version_id": version_id,
                    "opportunity_id": i + 1,
                    "milestone_id": milestone_ids[step],
                    "occurred_at": min(created + timedelta(days=5 * (step + 1)), NOW),
                    "rule_key": "r",
                    "evidence_connection_id": connection_id,
                    "evidence_stream": "Task",
                    "evidence_external_id": f"T{i}-{step}",
                    "created_at": NOW,
                }
            )
    with database.engine.begin() as db:
        db.execute(insert(Opportunity), opportunities)
        db.execute(insert(OpportunityProcess), links)
        db.execute(insert(MilestoneEvent), events)
        rebuild_states(db, version_id)


def _connect(
    database: Any, box: Any, server: Any, crm: str, bulk_threshold: int | None = None
) -> int:
    from app.services.connections.registry import create_connection

    info = server.connection_info()[crm]
    if crm == "salesforce":
        settings = {
            "kind": "salesforce",
            "auth_flow": "client_credentials",
            "token_url": info["token_url"],
            "client_id": info["client_id"],
            "ca_file": info["ca_file"],
            "writeback_bulk_threshold": bulk_threshold,  # None: the Collections figure
        }
        secrets = {"client_secret": info["client_secret"]}
    else:
        settings = {
            "kind": "hubspot",
            "base_url": info["base_url"],
            "portal_id": str(info["portal_id"]),
        }
        secrets = {"access_token": info["access_token"]}
    with database.session() as session:
        return create_connection(session, box, name="bench", settings=settings, secrets=secrets).id


def _case(
    crm: str, count: int, workdir: Path, bulk_threshold: int | None = None
) -> list[dict[str, Any]]:
    from sqlalchemy import update

    from app.core.crypto import SecretBox, generate_key
    from app.core.database import Database, upgrade
    from app.models import OpportunityState
    from app.services.kpis.store import KpiStore
    from app.services.writeback.crm_fields import setup_fields
    from app.services.writeback.runs import run_writeback
    from sandbox.crm import Sandbox, SandboxConfig, SandboxServer

    export = _export(workdir / "export", crm, count)
    database = Database(f"sqlite:///{workdir / 'bench.db'}")
    upgrade(database.engine)
    box = SecretBox([generate_key().encode()])
    sandbox = Sandbox.from_export(export, SandboxConfig())
    per_call = 200 if crm == "salesforce" else 100
    rows = []
    with SandboxServer(sandbox) as server:
        connection_id = _connect(database, box, server, crm, bulk_threshold)
        _state(database, connection_id, crm, count)
        fields = setup_fields(database, box, "bench", "create")
        assert fields.ok, fields.problems
        store = KpiStore(database, refresh_seconds=0.0, model_seconds=1e9)

        def measure(label: str) -> None:
            started = time.perf_counter()
            report = run_writeback(database, box, "bench", as_of=NOW, store=store)
            seconds = time.perf_counter() - started
            assert report.status == "succeeded", report
            bulk = bulk_threshold is not None and report.records_changed >= bulk_threshold
            rows.append(
                {
                    "crm": crm,
                    "opportunities": count,
                    "run": label,
                    "changed": report.records_changed,
                    "written": report.records_written,
                    "write_calls": report.write_calls,
                    "mode": "bulk jobs" if bulk else "calls",
                    "expected_write_calls": math.ceil(
                        report.records_changed / (10_000 if bulk else per_call)
                    ),
                    "api_calls": report.api_calls,
                    "seconds": round(seconds, 2),
                    "records_per_s": round(report.records_written / seconds)
                    if report.records_written
                    else 0,
                }
            )

        measure("all changed")
        measure("unchanged")
        with database.engine.begin() as db:
            won = [
                row[0]
                for row in db.execute(
                    OpportunityState.__table__.select()
                    .with_only_columns(OpportunityState.opportunity_id)
                    .where(OpportunityState.outcome == "won")
                    .order_by(OpportunityState.opportunity_id)
                    .limit(count // 100)
                )
            ]
            db.execute(
                update(OpportunityState)
                .where(OpportunityState.opportunity_id.in_(won))
                .values(amount=OpportunityState.amount + 1, updated_at=datetime.now(UTC))
            )
        measure("1% changed")
    database.dispose()
    return rows


def run(args: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench writeback")
    parser.add_argument("--opportunities", default="100000", help="Comma-separated counts.")
    parser.add_argument("--crms", default="salesforce,hubspot")
    parser.add_argument(
        "--bulk-threshold", type=int, help="Salesforce: Bulk API 2.0 jobs from this many records"
    )
    options = parser.parse_args(args)
    rows: list[dict[str, Any]] = []
    for crm in options.crms.split(","):
        for count in (int(c) for c in options.opportunities.split(",")):
            with tempfile.TemporaryDirectory(prefix=f"bench-writeback-{crm}-") as workdir:
                rows.extend(_case(crm, count, Path(workdir), options.bulk_threshold))
    return rows
