"""A CRM with a generated sales history, synced and mapped, ready for write-back.

`crm_world(db, box, export, crm)` serves the export from the sandbox, connects to its
Salesforce org or HubSpot portal, syncs everything, activates the shipped example rules and
yields a `World`; write-back runs read KPIs from a KPI store that sees every state change at
once (no refresh interval) and never refits its model on its own, so that two runs with the
same `now` compute the same values unless opportunity state really changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, select

from app.core.crypto import SecretBox
from app.core.database import Database, upgrade
from app.models import MilestoneEvent, OpportunityState, WritebackRecord, WritebackRun
from app.models.base import utcnow
from app.services.connections.changes import upsert_connection
from app.services.kpis.store import KpiStore
from app.services.mapping.activation import activate_ruleset
from app.services.sync.runs import SyncReport, sync_connection
from app.services.writeback.crm_fields import setup_fields
from app.services.writeback.runs import WritebackReport, run_writeback
from connectors.core import RetryPolicy
from sandbox.crm import Sandbox, SandboxServer
from tests.conftest import FreshDatabases
from tests.support.sandbox import hubspot_connection_args, salesforce_connection_args, serve

__all__ = ["FAST_RETRY", "SALESFORCE_EXTRA", "World", "crm_world", "shared_world"]

ROOT = Path(__file__).resolve().parents[2]
FAST_RETRY = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01)
SALESFORCE_EXTRA = {
    "Opportunity": ["Segment__c"],
    "Account": ["Segment__c"],
    "Event": ["Meeting_Outcome__c"],
    "EmailMessage": ["TextBody"],
    "Task": ["CallDisposition"],
}
Crm = Literal["salesforce", "hubspot"]


@dataclass
class World:
    db: Database
    box: SecretBox
    server: SandboxServer
    crm: Crm
    name: str
    store: KpiStore
    now: datetime

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    @property
    def write_calls(self) -> int:
        endpoint = (
            "salesforce.collections_update" if self.crm == "salesforce" else "hubspot.batch_update"
        )
        return self.sandbox.calls[endpoint]

    @property
    def opportunity_object(self) -> str:
        return "Opportunity" if self.crm == "salesforce" else "deals"

    def connect(self, **settings: Any) -> None:
        """(Re)point the connection at the sandbox with these extra settings."""
        if self.crm == "salesforce":
            args = salesforce_connection_args(
                self.server, **{"extra_fields": SALESFORCE_EXTRA, **settings}
            )
        else:
            base = {"search_per_second": 100, "deletions_every_minutes": 0}
            args = hubspot_connection_args(self.server, **{**base, **settings})
        with self.db.session() as session:
            upsert_connection(session, self.box, name=self.name, **args)

    def reset(self) -> World:
        """Back to the state right after `crm_world` (for a world shared by several tests):
        nothing written yet, default settings, no faults or rules, calls counted from 0."""
        with self.db.engine.begin() as connection:
            connection.execute(delete(WritebackRecord))
            connection.execute(delete(WritebackRun))
        self.connect()
        self.sandbox.faults.clear()
        self.sandbox.salesforce.validation_rules.clear()
        self.sandbox.reset_accounting()
        self.store = KpiStore(self.db, refresh_seconds=0.0, model_seconds=1e9)
        return self

    def sync(self) -> SyncReport:
        report = sync_connection(self.db, self.box, self.name, retry=FAST_RETRY)
        assert report.status == "succeeded", report
        return report

    def writeback(
        self, *, dry_run: bool = False, now: datetime | None = None, crm_clock: bool = False
    ) -> WritebackReport:
        """A run with values as of `now` (default `self.now`), or, with `crm_clock`, as
        production runs it: values on the CRM's own clock, bookkeeping on the wall clock."""
        moment = None if crm_clock else now or self.now
        return run_writeback(
            self.db,
            self.box,
            self.name,
            dry_run=dry_run,
            as_of=moment,
            now=moment,
            store=self.store,
            retry=FAST_RETRY,
        )

    def records(self) -> dict[str, WritebackRecord]:
        with self.db.sessions() as session:
            return {
                row.external_id: row
                for row in session.scalars(
                    select(WritebackRecord).where(
                        WritebackRecord.object_type == self.opportunity_object
                    )
                )
            }

    def events(self) -> int:
        with self.db.sessions() as session:
            return len(session.scalars(select(MilestoneEvent.id)).all())

    def states(self) -> dict[int, dict[str, Any]]:
        """Every opportunity state, without its bookkeeping timestamp."""
        with self.db.sessions() as session:
            rows = session.scalars(select(OpportunityState)).all()
            return {
                row.opportunity_id: {
                    column: getattr(row, column)
                    for column in OpportunityState.__table__.columns.keys()  # noqa: SIM118
                    if column != "updated_at"
                }
                for row in rows
            }


@contextmanager
def shared_world(
    fresh_databases: FreshDatabases, export: Path, crm: Crm, box: SecretBox
) -> Iterator[World]:
    """A world in a database of its own, with the write-back fields created, for a module's
    tests to share (`World.reset` between them)."""
    database = Database(fresh_databases.url(f"writeback_{crm}"))
    upgrade(database.engine)
    try:
        with crm_world(database, box, export, crm) as world:
            report = setup_fields(database, box, world.name, "create", retry=FAST_RETRY)
            assert report.ok, report
            yield world
    finally:
        database.dispose()


@contextmanager
def crm_world(
    db: Database, box: SecretBox, export: Path, crm: Crm, **settings: Any
) -> Iterator[World]:
    with serve(export) as server:
        store = KpiStore(db, refresh_seconds=0.0, model_seconds=1e9)
        world = World(db, box, server, crm, "acme", store, utcnow())
        world.connect(**settings)
        world.sync()
        rules = (ROOT / "mappings" / "examples" / f"{crm}.yaml").read_text()
        activate_ruleset(db, rules, f"{crm}.yaml")
        yield world
