"""Sync runs: pull every stream of a connection into the raw layer, recorded as it goes.

Each page is stored with its cursor, quarantined rows and the run's counters in one
transaction (`DatabaseSink`), so a run killed at any moment resumes from its last page and
the raw layer ends up exactly as a clean run would leave it.

A failure that says the CRM cannot serve this run (credentials refused, the host unreachable
or untrusted, the quota) ends the run at once with that one line as its error, instead of
failing again for every stream; the next run tries again. Faults that outlast their retries
on one endpoint fail that stream only.
A stop asked while a call waits to be retried ends the run as a stop: the job resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection as SqlConnection
from sqlalchemy import bindparam, insert, update

from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import InvalidRequestError
from app.models import Connection, QuarantinedRecord, StreamCursor, SyncRun, SyncRunStream
from app.models.base import utcnow
from app.services.connections.hubspot_tokens import StoredTokens
from app.services.connections.registry import (
    ExportSettings,
    HubSpotSettings,
    SalesforceSettings,
    connection_settings,
    export_reader,
    get_connection,
    hubspot_reader,
    salesforce_client,
    salesforce_reader,
)
from app.services.sync.raw_records import RawRecordWriter, UpsertCounts
from app.services.sync.vanished import SeenIds, vanished
from connectors.core import (
    ApiBudget,
    AuthenticationError,
    ConfigError,
    ConnectorError,
    CursorState,
    Interrupted,
    MissingPermission,
    Page,
    PageCounts,
    QuotaReached,
    RetryPolicy,
    StreamReader,
    StreamResult,
    StreamRun,
    StreamSpec,
    Unreachable,
    run_streams,
)
from connectors.core.engine import StopReason

__all__ = ["DatabaseSink", "StreamSyncSummary", "SyncReport", "sync_connection"]

log = logging.getLogger(__name__)

_RUN_ENDING = (AuthenticationError, QuotaReached, Unreachable)
"""Failures of the CRM rather than of one stream: every other stream would meet them too."""
_STOPPED = "stopped on request; the next run resumes from the last page"


class StreamSyncSummary(BaseModel):
    """What one stream of a sync run read and stored, and why it stopped."""

    stream: str
    read: int = 0
    new: int = 0
    changed: int = 0
    deleted: int = 0
    quarantined: int = 0
    pages: int = 0
    api_calls: int = 0
    bytes_received: int = 0
    seconds: float = 0.0
    stopped: StopReason = "done"
    error: str | None = None
    duration_ms: int = Field(default=0, exclude=True)  # unrounded, for the run's stream row

    @classmethod
    def of(
        cls, result: StreamResult, error: str | None = None, stopped: StopReason | None = None
    ) -> StreamSyncSummary:
        return cls(
            stream=result.stream,
            read=result.records_read,
            new=result.records_new,
            changed=result.records_changed,
            deleted=result.records_deleted,
            quarantined=result.records_quarantined,
            pages=result.pages,
            api_calls=result.api_calls,
            bytes_received=result.bytes_received,
            seconds=round(result.seconds, 3),
            stopped=stopped or result.stopped,
            error=error,
            duration_ms=int(result.seconds * 1000),
        )


class SyncReport(BaseModel):
    """One sync run of a connection: what `milestones sync --json` prints per run."""

    connection: str
    run_id: int
    status: str
    streams: list[StreamSyncSummary] = Field(default_factory=list)
    api_calls: int = 0
    bytes_received: int = 0
    quota_used: int | None = None
    """The CRM's daily API quota as it last reported it during the run: calls used ..."""
    quota_limit: int | None = None
    """... of this many a day (None: the CRM reported none)."""
    error: str | None = None


class DatabaseSink:
    """Stores a page, its quarantined rows, the cursor and the run's counters atomically."""

    def __init__(self, database: Database, connection_id: int, run_id: int) -> None:
        self._database = database
        self._connection_id = connection_id
        self._run_id = run_id

    def commit_page(self, spec: StreamSpec, page: Page, cursor: CursorState) -> PageCounts:
        with self._database.engine.begin() as connection:
            writer = RawRecordWriter(connection, self._connection_id, spec.name)
            counts = writer.upsert(page.records)
            if page.quarantined:
                connection.execute(
                    insert(QuarantinedRecord),
                    [
                        {
                            "connection_id": self._connection_id,
                            "sync_run_id": self._run_id,
                            "stream": spec.name,
                            "external_id": row.external_id,
                            "reason": row.reason,
                            "payload": row.payload,
                            "created_at": utcnow(),
                        }
                        for row in page.quarantined
                    ],
                )
            self._save_cursor(connection, spec.name, cursor)
            self._add_counts(
                connection, spec.name, len(page.records), counts, len(page.quarantined)
            )
        return PageCounts(new=counts.new, changed=counts.changed, deleted=counts.deleted)

    def _save_cursor(self, connection: SqlConnection, stream: str, cursor: CursorState) -> None:
        values = {
            "connection_id": self._connection_id,
            "stream": stream,
            "start_value": cursor.start_value,
            "last_value": cursor.last_value,
            "state": {"resume": cursor.resume} if cursor.resume else {},
            "updated_at": utcnow(),
        }
        if connection.execute(_CURSOR_UPDATE, _bound(values)).rowcount == 0:
            connection.execute(insert(StreamCursor), values)

    def _add_counts(
        self,
        connection: SqlConnection,
        stream: str,
        read: int,
        counts: UpsertCounts,
        quarantined: int,
    ) -> None:
        values = {
            "sync_run_id": self._run_id,
            "stream": stream,
            "records_read": read,
            "records_new": counts.new,
            "records_changed": counts.changed,
            "records_deleted": counts.deleted,
            "records_quarantined": quarantined,
        }
        if connection.execute(_COUNTS_UPDATE, _bound(values)).rowcount == 0:
            connection.execute(insert(SyncRunStream), values)


# Built once: a page's bookkeeping is two plain UPDATEs (an INSERT the first time), with no ORM
# load of the cursor's JSON state and no statement compiled per page. Bound names differ from
# column names, which SQLAlchemy keeps for the SET clause.
def _bound(values: dict[str, Any]) -> dict[str, Any]:
    return {f"b_{name}": value for name, value in values.items()}


def _param(column: Any) -> Any:
    return bindparam(f"b_{column.key}", type_=column.type)


_CURSOR_UPDATE = (
    update(StreamCursor)
    .where(
        StreamCursor.connection_id == _param(StreamCursor.connection_id),
        StreamCursor.stream == _param(StreamCursor.stream),
    )
    .values(
        {
            column: _param(column)
            for column in (
                StreamCursor.start_value,
                StreamCursor.last_value,
                StreamCursor.state,
                StreamCursor.updated_at,
            )
        }
    )
)
_COUNTS_UPDATE = (
    update(SyncRunStream)
    .where(
        SyncRunStream.sync_run_id == _param(SyncRunStream.sync_run_id),
        SyncRunStream.stream == _param(SyncRunStream.stream),
    )
    .values(
        {
            column: column + _param(column)
            for column in (
                SyncRunStream.records_read,
                SyncRunStream.records_new,
                SyncRunStream.records_changed,
                SyncRunStream.records_deleted,
                SyncRunStream.records_quarantined,
            )
        }
    )
)


def _reader_for(
    database: Database,
    connection: Connection,
    box: SecretBox,
    budget: ApiBudget,
    retry: RetryPolicy | None,
) -> tuple[StreamReader, list[StreamSpec], timedelta]:
    settings = connection_settings(connection)
    credentials = box.open(connection.credentials_sealed)
    if isinstance(settings, SalesforceSettings):
        budget.max_share = settings.quota_share
        client = salesforce_client(settings, credentials, budget, retry)
        reader, specs = salesforce_reader(settings, client)
        return reader, specs, timedelta(minutes=settings.lookback_minutes)
    if isinstance(settings, HubSpotSettings):
        budget.max_share = settings.quota_share
        vault = StoredTokens(database, box, connection.id)
        hs_reader, specs = hubspot_reader(settings, credentials, budget, retry, vault)
        return hs_reader, specs, timedelta(minutes=settings.lookback_minutes)
    if isinstance(settings, ExportSettings):
        export, specs = export_reader(settings)
        return export, specs, timedelta(0)
    raise InvalidRequestError(f"syncing {connection.kind} connections is not available yet")


def _start_run(database: Database, connection_id: int, full: bool, trigger: str) -> int:
    with database.session() as session:
        run = SyncRun(connection_id=connection_id, full=full, trigger=trigger, status="running")
        session.add(run)
        session.flush()
        return run.id


def _previous_cursor(database: Database, connection_id: int, stream: str) -> StreamCursor | None:
    with database.sessions() as session:
        return session.get(StreamCursor, (connection_id, stream))


def sync_connection(
    database: Database,
    box: SecretBox,
    name: str,
    *,
    full: bool = False,
    streams: list[str] | None = None,
    trigger: str = "manual",
    retry: RetryPolicy | None = None,
    on_page: Callable[[StreamResult], None] = lambda _result: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> SyncReport:
    """Pull the connection's streams (all, or `streams`), incrementally unless `full`."""
    with database.sessions() as session:
        connection = get_connection(session, name)
    budget = ApiBudget()
    reader, specs, lookback = _reader_for(database, connection, box, budget, retry)
    if streams:
        unknown = sorted(set(streams) - {spec.name for spec in specs})
        if unknown:
            raise InvalidRequestError(f"unknown stream(s) for {name}: {', '.join(unknown)}")
        specs = [spec for spec in specs if spec.name in streams]
    plan = _Plan(connection, reader, specs, lookback, budget)
    try:
        return _run(
            database, plan, full=full, trigger=trigger, on_page=on_page, should_stop=should_stop
        )
    finally:
        reader.close()


@dataclass
class _Plan:
    """What one run pulls: the connection's reader, its streams, and the budget they share."""

    connection: Connection
    reader: StreamReader
    specs: list[StreamSpec]
    lookback: timedelta
    budget: ApiBudget


def _run(
    database: Database,
    plan: _Plan,
    *,
    full: bool,
    trigger: str,
    on_page: Callable[[StreamResult], None],
    should_stop: Callable[[], bool],
) -> SyncReport:
    connection, reader, budget, lookback = plan.connection, plan.reader, plan.budget, plan.lookback
    name = connection.name
    run_id = _start_run(database, connection.id, full, trigger)
    report = SyncReport(connection=name, run_id=run_id, status="running")
    sink = DatabaseSink(database, connection.id, run_id)
    now = utcnow()
    runs: list[StreamRun] = []
    wholes: dict[str, SeenIds] = {}
    for spec in plan.specs:
        stored = None if full else _previous_cursor(database, connection.id, spec.name)
        previous = stored.last_value if stored is not None else None
        resume = (stored.state or {}).get("resume") if stored is not None else None
        cursor = CursorState.begin(previous, lookback=lookback, now=now, resume=resume)
        if spec.mode == "full_refresh":
            cursor = CursorState.begin(None, lookback=lookback, now=now)
            wholes[spec.name] = SeenIds(sink)
        runs.append(StreamRun(spec, cursor, wholes.get(spec.name, sink)))
    ending: list[str] = []  # a failure every stream would meet, or a stop: no stream goes on
    outcomes = run_streams(
        reader,
        runs,
        budget,
        should_stop=should_stop,
        on_page=on_page,
        stop=lambda: bool(ending),
    )
    cursors = {run.spec.name: run.cursor for run in runs}
    try:
        for outcome in outcomes:
            spec, result, error = outcome.spec, outcome.result, outcome.error
            if ending and error is None and result.pages == 0:
                continue  # ended unread by the failure that ended the run
            if error is None:
                whole = wholes.get(spec.name)
                if whole is not None and result.stopped == "done":
                    cursor = cursors[spec.name]
                    _soft_delete_vanished(
                        database, sink, connection.id, spec, cursor, whole, result
                    )
                report.streams.append(StreamSyncSummary.of(result))
                if result.stopped == "quota":
                    report.error = f"stopped at the configured quota share ({budget.describe()})"
                elif result.stopped == "stopped":
                    report.error = report.error or _STOPPED
            elif isinstance(error, Interrupted):
                report.streams.append(StreamSyncSummary.of(result, stopped="stopped"))
                report.error = _STOPPED
                ending.append(_STOPPED)
            elif isinstance(error, _RUN_ENDING):
                log.warning("sync failed", extra={"connection": name, "error": str(error)})
                report.streams.append(StreamSyncSummary.of(result, error=str(error)))
                report.error = report.error or str(error)
                ending.append(str(error))
            elif isinstance(error, (ConfigError, MissingPermission, ConnectorError)):
                log.warning("stream failed", extra={"stream": spec.name, "error": str(error)})
                report.streams.append(StreamSyncSummary.of(result, error=str(error)))
            else:
                raise error
    finally:
        outcomes.close()
    order = {spec.name: index for index, spec in enumerate(plan.specs)}
    report.streams.sort(key=lambda summary: order[summary.stream])
    report.api_calls, report.bytes_received = budget.calls, budget.bytes_received
    report.quota_used, report.quota_limit = budget.quota_used, budget.quota_limit
    failed = [summary for summary in report.streams if summary.error]
    if report.streams and len(failed) == len(report.streams):
        report.status = "failed"
    elif report.error or failed or len(report.streams) < len(plan.specs):
        report.status = "partial"
    else:
        report.status = "succeeded"
    _finish_run(database, report)
    return report


def _soft_delete_vanished(
    database: Database,
    sink: DatabaseSink,
    connection_id: int,
    spec: StreamSpec,
    cursor: CursorState,
    whole: SeenIds,
    result: StreamResult,
) -> None:
    """After a complete full read: what the CRM no longer lists is deleted there."""
    tombstones = vanished(database, connection_id, spec.name, whole.ids)
    if tombstones:
        counts = sink.commit_page(spec, Page(tombstones), cursor)
        result.records_read += len(tombstones)
        result.records_deleted += counts.deleted


def _finish_run(database: Database, report: SyncReport) -> None:
    with database.session() as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == report.run_id)
            .values(
                status=report.status,
                finished_at=utcnow(),
                api_calls=report.api_calls,
                bytes_received=report.bytes_received,
                quota_used=report.quota_used,
                quota_limit=report.quota_limit,
                error=report.error,
            )
        )
        for summary in report.streams:
            row = session.get(SyncRunStream, (report.run_id, summary.stream))
            if row is None:
                row = SyncRunStream(sync_run_id=report.run_id, stream=summary.stream)
                session.add(row)
            row.api_calls = summary.api_calls
            row.bytes_received = summary.bytes_received
            row.duration_ms = summary.duration_ms
            row.error = summary.error
        session.flush()
