"""One pass of a connection's pipeline, as a worker runs it for a job.

    incremental sync -> mapping of the new records -> opportunity state and KPIs -> write-back

Each stage starts only when the one before it completed; a sync stopped on request (SIGTERM,
or the worker lost its lock) ends the pass at once, and the job is queued again to resume from
the last committed page. The worker's `retry` policy carries its stop event, so a call waiting
to be retried (a rate limit, a CRM answering 503) wakes at once when the worker is stopped.
The mapping run is incremental and idempotent, so a pass that is repeated derives nothing twice.

    report = run_pipeline(database, box, "acme", streams=None, trigger="schedule")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field, field_serializer

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import ConflictError, MilestonesError
from app.services.mapping.public import MappingRunSummary
from app.services.mapping.runs import derive_active
from app.services.sync.runs import SyncReport, sync_connection
from app.services.writeback.public import WritebackReport, WritebackSkipped
from connectors.core import RetryPolicy

__all__ = ["PipelineReport", "StateRefresh", "run_pipeline"]

log = logging.getLogger(__name__)


class StateRefresh(BaseModel):
    opportunities_refreshed: int


class PipelineReport(BaseModel):
    """One pass for one connection; kept as the job's result.

    The result holds the sync's totals (not its per-stream rows) and the write-back's counts
    (not its preview of changes)."""

    connection: str
    connection_id: int = Field(exclude=True)
    status: str = "running"
    sync: SyncReport | None = None
    mapping: list[MappingRunSummary] = Field(default_factory=list)
    state: StateRefresh | None = None
    writeback: WritebackReport | WritebackSkipped | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def sync_run_id(self) -> int | None:
        return self.sync.run_id if self.sync is not None else None

    @field_serializer("sync")
    def _sync_totals(self, sync: SyncReport | None) -> dict[str, Any] | None:
        if sync is None:
            return None
        totals = sync.model_dump(mode="json", exclude={"streams"})
        totals["records_read"] = sum(row.read for row in sync.streams)
        totals["records_new"] = sum(row.new for row in sync.streams)
        totals["records_changed"] = sum(row.changed for row in sync.streams)
        totals["records_deleted"] = sum(row.deleted for row in sync.streams)
        return totals

    @field_serializer("writeback")
    def _writeback_counts(
        self, writeback: WritebackReport | WritebackSkipped | None
    ) -> dict[str, Any] | None:
        if isinstance(writeback, WritebackReport):
            return writeback.model_dump(mode="json", exclude={"changes"})
        return writeback.model_dump(mode="json") if writeback is not None else None


def _stopped(report: SyncReport) -> bool:
    return any(summary.stopped == "stopped" for summary in report.streams)


def run_pipeline(
    database: Database,
    box: SecretBox,
    connection: str,
    connection_id: int,
    *,
    streams: Sequence[str] | None = None,
    trigger: str = "schedule",
    should_stop: Callable[[], bool] = lambda: False,
    retry: RetryPolicy | None = None,
) -> PipelineReport:
    """Run every stage for one connection; the report's status is the job's outcome."""
    started = time.perf_counter()
    report = PipelineReport(connection=connection, connection_id=connection_id)
    try:
        report.sync = sync_connection(
            database,
            box,
            connection,
            streams=list(streams) if streams is not None else None,
            trigger=trigger,
            should_stop=should_stop,
            retry=retry,
        )
        if _stopped(report.sync):
            report.status = "stopped"
            return report
        if report.sync.status == "failed":
            report.status, report.error = "failed", report.sync.error or "every stream failed"
            return report
        touched: set[int] = set()
        try:
            for run in derive_active(database, connection_id):
                report.mapping.append(run.summary())
                touched |= run.touched
        except ConflictError as error:  # a mapping run started elsewhere covers these records
            log.info("mapping skipped", extra={"connection": connection, "reason": error.detail})
        # Opportunity state and KPIs were refreshed by the mapping run, in the transaction that
        # wrote the events (`opportunity_state.refresh_states`); every API process's KPI store
        # reads the changed rows within seconds. This stage only reports what moved.
        report.state = StateRefresh(opportunities_refreshed=len(touched))
        # Write the changed KPI fields back (diff only, batched) unless the connection's
        # write-back is off; None when skipped. Imported here: the KPI view it computes from
        # (numpy) is loaded by a worker's first write-back, not by its start.
        from app.services.writeback.runs import automatic_writeback

        report.writeback = automatic_writeback(database, box, connection_id, retry)
        report.status = report.sync.status
        report.error = report.sync.error
    except MilestonesError as error:
        report.status, report.error = "failed", error.detail
    finally:
        report.seconds = round(time.perf_counter() - started, 3)
    return report
