"""Write-back runs: the KPI fields of every opportunity (deal) and account, into the CRM.

A run computes each record's field values (`app.services.writeback.values`), formats them for
the CRM, and compares their hash with what was last written (`WritebackRecord`). Only records
whose values changed are sent, in batches of the CRM's maximum (Salesforce sObject
Collections 200, HubSpot batch update 100; Bulk API 2.0 ingest jobs above the connection's
`writeback_bulk_threshold`, see `writeback_batches`), so a run where nothing changed makes no
API call at all. Each batch's outcome is committed with it: a record the CRM accepted is never
sent again until its values change; a record it refused keeps the CRM's message and is retried
on a later run, after a wait that doubles with each failure (`retry_minutes` up to
`retry_max_hours`). A call rejected as a whole leaves every record of it queued with the
reason; one refused for a value some record carries is split to write the others first
(`writeback_batches.isolate`). Before the first write, every mapped field is checked to exist
and be writable.

Loop safety: our own writes change SystemModstamp / hs_lastmodifieddate, so the next sync
pulls those records again. Their payload never carries our fields (the Salesforce field list
cannot name them, the HubSpot reader skips them), the values are computed from opportunity
state and history alone, and unchanged values hash the same, so the re-pulled records create
no event, move no KPI and cause no write.

    report = run_writeback(database, box, "acme")              # diff, write, record
    report = run_writeback(database, box, "acme", dry_run=True)
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, desc, select, update

from app.core.caching import BoundedCache
from app.core.crypto import SecretBox
from app.core.database import Database
from app.core.errors import ConflictError, MilestonesError
from app.models import Connection, WritebackRecord, WritebackRun
from app.models.base import cancel_running, utcnow
from app.services.connections.registry import SalesforceSettings, get_connection
from app.services.jobs.locks import LockSession
from app.services.kpis.store import KpiStore
from app.services.mapping.index import upsert
from app.services.state.clock import AsOf
from app.services.targets.status import plan_statuses
from app.services.writeback.batches import isolate, stream_batches, whole_call
from app.services.writeback.crm_fields import WritebackTarget, check_target, open_target
from app.services.writeback.fields import ObjectFields, crm_value
from app.services.writeback.public import (
    FailingRecordPublic,
    RefusedRecord,
    ValueChange,
    WritebackReport,
    WritebackRunPublic,
    WritebackSkipped,
)
from app.services.writeback.values import (
    OpportunityValues,
    account_values,
    iter_opportunity_values,
    load_extras,
)
from connectors.core import (
    AuthenticationError,
    ConnectorError,
    Interrupted,
    QuotaReached,
    RetryPolicy,
    Unreachable,
)
from connectors.core.prefetch import prefetched
from connectors.core.writes import BulkFieldWriter, PayloadRefused, RecordUpdate, WriteOutcome

__all__ = [
    "WritebackReport",
    "automatic_writeback",
    "failing_records",
    "list_runs",
    "run_writeback",
    "run_writebacks",
    "shared_store",
]

log = logging.getLogger(__name__)

MAX_REJECTED_CALLS = 3
"""Whole calls rejected in a row before a run stops (the rest waits for the next run)."""
PREVIEW = 20
NOT_READY = "write-back fields are not ready"
FIELDS_RECHECK = timedelta(hours=1)
"""After a run found the fields missing, automatic runs skip (no API call) this long, unless
the connection's settings change; `milestones writeback` always runs."""
_RECORDS = cast(Table, WritebackRecord.__table__)
_stores = BoundedCache[Database, KpiStore](
    "KPI views by database: a write-back refreshes its view instead of reloading all state",
    size=8,
)


def shared_store(database: Database, as_of_setting: AsOf = "data") -> KpiStore:
    """This process's KPI view of `database` (`as_of_setting`: the KPI as-of setting, as the
    API uses it): refreshed from state changes, not reloaded."""
    return _stores.get_or_put(database, lambda: KpiStore(database, as_of_setting=as_of_setting))


@dataclass(frozen=True, slots=True)
class _Wanted:
    object_type: str
    external_id: str
    payload: dict[str, Any]
    digest: str


@dataclass(slots=True)
class _Stored:
    values: dict[str, Any]
    digest: str | None
    failures: int
    next_attempt_at: datetime | None


def _digest(payload: dict[str, Any]) -> str:
    canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


CHUNK = 2000
"""Records whose values are computed at a time; the first batches go out while the rest are."""


def _wanted_chunks(
    target: WritebackTarget,
    database: Database,
    store: KpiStore,
    as_of: datetime | None,
    report: WritebackReport,
) -> Iterator[list[_Wanted]]:
    """Every record's field values at `as_of`, formatted for the CRM, with their hash: the
    opportunities in id order, `CHUNK` at a time, then the accounts. The report states the
    instant.

    By default `as_of` is the KPI view's data clock (`app.services.state.clock`), the instant
    the API answers as of: a field and the API never disagree about "now".
    """
    snapshot = store.snapshot(fresh=True)
    extras = load_extras(
        database, target.connection_id, snapshot.versions.get(target.connection_id)
    )
    moment = as_of or snapshot.as_of
    report.as_of = moment
    crm = target.settings.kind

    def wanted(fields: ObjectFields, external_id: str, values: dict[str, Any]) -> _Wanted:
        payload = {
            f.definition.name: crm_value(crm, f.definition, values.get(f.key))
            for f in fields.fields
        }
        return _Wanted(fields.object_type, external_id, payload, _digest(payload))

    opportunity_fields = target.fields.opportunity
    account_fields = target.fields.account
    statuses = (
        plan_statuses(database, snapshot)
        if any(f.key == "team_plan_status" for f in opportunity_fields.fields)
        else None
    )  # optional, off by default: a plan per target in force
    with_accounts = account_fields is not None and bool(account_fields.fields)
    opportunities: list[OpportunityValues] = []
    chunk: list[_Wanted] = []
    for row in iter_opportunity_values(snapshot, target.connection_id, extras, moment):
        if with_accounts:
            opportunities.append(row)
        if opportunity_fields.fields:
            values = row.values
            if statuses is not None:
                values = {**values, "team_plan_status": statuses.get(row.opportunity_id)}
            chunk.append(wanted(opportunity_fields, row.external_id, values))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
    if account_fields is not None and with_accounts:
        accounts = sorted(account_values(opportunities).items())
        yield [wanted(account_fields, account, values) for account, values in accounts]


class _Diff:
    """Compares computed values with what was last written, chunk by chunk, counting as it
    goes; keeps every hash for `_settle`."""

    def __init__(
        self, stored: dict[tuple[str, str], _Stored], now: datetime, report: WritebackReport
    ) -> None:
        self.stored, self.now, self.report = stored, now, report
        self.digests: dict[tuple[str, str], str] = {}

    def split(self, chunk: Sequence[_Wanted]) -> tuple[list[_Wanted], list[_Wanted]]:
        """The changed records of `chunk`, and those of them due now (not waiting a backoff)."""
        changed, due = [], []
        for item in chunk:
            key = (item.object_type, item.external_id)
            self.digests[key] = item.digest
            before = self.stored.get(key)
            if before is not None and before.digest == item.digest:
                continue
            changed.append(item)
            if (
                before is None
                or before.next_attempt_at is None
                or before.next_attempt_at <= self.now
            ):
                due.append(item)
        self.report.records_checked += len(chunk)
        self.report.records_changed += len(changed)
        self.report.records_deferred += len(changed) - len(due)
        return changed, due


def _stored(database: Database, connection_id: int) -> dict[tuple[str, str], _Stored]:
    with database.engine.connect() as db:
        rows = db.execute(
            select(
                WritebackRecord.object_type,
                WritebackRecord.external_id,
                WritebackRecord.written_values,
                WritebackRecord.values_hash,
                WritebackRecord.failures,
                WritebackRecord.next_attempt_at,
            ).where(WritebackRecord.connection_id == connection_id)
        )
        return {(r[0], r[1]): _Stored(r[2] or {}, r[3], r[4] or 0, r[5]) for r in rows}


def _backoff(target: WritebackTarget, failures: int) -> timedelta:
    options = target.settings.writeback
    minutes = options.retry_minutes * 2 ** max(0, min(failures - 1, 30))
    return min(timedelta(minutes=minutes), timedelta(hours=options.retry_max_hours))


class _Recorder:
    """Commits each batch's outcomes with the run's counters, in one transaction."""

    def __init__(
        self,
        database: Database,
        target: WritebackTarget,
        report: WritebackReport,
        stored: dict[tuple[str, str], _Stored],
        now: datetime,
    ) -> None:
        self.database = database
        self.target = target
        self.report = report
        self.stored = stored
        self.now = now

    def commit(self, batch: Sequence[_Wanted], outcomes: Sequence[WriteOutcome]) -> None:
        by_id = {w.external_id: w for w in batch}
        written: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        stamp = utcnow()
        for outcome in outcomes:
            wanted = by_id[outcome.external_id]
            key = (wanted.object_type, wanted.external_id)
            row = {
                "connection_id": self.target.connection_id,
                "object_type": wanted.object_type,
                "external_id": wanted.external_id,
                "updated_at": stamp,
            }
            if outcome.ok:
                written.append(
                    {
                        **row,
                        "written_values": wanted.payload,
                        "values_hash": wanted.digest,
                        "written_at": self.now,
                        "last_error": None,
                        "failures": 0,
                        "next_attempt_at": None,
                    }
                )
                continue
            before = self.stored.get(key)
            failures = (before.failures if before else 0) + 1
            failed.append(
                {
                    **row,
                    "written_values": before.values if before else {},
                    "values_hash": before.digest if before else None,
                    "written_at": None,
                    "last_error": (outcome.error or "rejected")[:4000],
                    "failures": failures,
                    "next_attempt_at": self.now + _backoff(self.target, failures),
                }
            )
            if len(self.report.failures) < PREVIEW:
                self.report.failures.append(
                    RefusedRecord(
                        object=wanted.object_type,
                        id=wanted.external_id,
                        error=outcome.error or "rejected",
                    )
                )
        self.report.records_written += len(written)
        self.report.records_failed += len(failed)
        self.report.api_calls = self.target.budget.calls
        keys = ("connection_id", "object_type", "external_id")
        with self.database.engine.begin() as db:
            upsert(
                db,
                _RECORDS,
                written,
                keys,
                [k for k in written[0] if k not in keys] if written else [],
            )
            upsert(
                db,
                _RECORDS,
                failed,
                keys,
                ("last_error", "failures", "next_attempt_at", "updated_at"),
            )
            _save_counts(db, self.report)


def _save_counts(db: Any, report: WritebackReport, finished: bool = False) -> None:
    if report.run_id is None:
        return
    values: dict[str, Any] = {
        "records_checked": report.records_checked,
        "records_changed": report.records_changed,
        "records_written": report.records_written,
        "records_failed": report.records_failed,
        "records_deferred": report.records_deferred,
        "api_calls": report.api_calls,
        "status": report.status,
        "error": report.error,
    }
    if finished:
        values["finished_at"] = utcnow()
    db.execute(update(WritebackRun).where(WritebackRun.id == report.run_id).values(**values))


def _start(database: Database, report: WritebackReport) -> None:
    """Record the run as running. Holding the connection's write-back lock, any run of it
    still marked running belongs to a process that died mid-run (killed, a lost machine):
    it is closed as cancelled, so every run ends in a stated status."""
    with database.session() as session:
        session.execute(
            cancel_running(
                WritebackRun,
                report.connection_id,
                "the process running it ended without finishing (killed or lost); this "
                "connection's next run wrote what it had left",
            )
        )
        run = WritebackRun(
            connection_id=report.connection_id, dry_run=report.dry_run, status="running"
        )
        session.add(run)
        session.flush()
        report.run_id = run.id


def _finish(database: Database, report: WritebackReport) -> None:
    if report.status == "running":
        if (report.error or report.records_failed) and not report.records_written:
            report.status = "failed"
        elif report.error or report.records_failed:
            report.status = "partial"
        else:
            report.status = "succeeded"
    with database.engine.begin() as db:
        _save_counts(db, report, finished=True)


def _settle(
    database: Database,
    connection_id: int,
    digests: dict[tuple[str, str], str],
    stored: dict[tuple[str, str], _Stored],
) -> None:
    """Forget the failures of records that need no write any more: their values are back to
    what was last written, or they left write-back (deleted, or no longer in a process).
    `digests` holds the hash of every record of the run."""
    settled = []
    for key, row in stored.items():
        if not row.failures:
            continue
        if key in digests:
            if digests[key] == row.digest:  # back to what was last written
                settled.append(key)
        elif digests:  # gone (never on an empty set: a KPI view not loaded yet)
            settled.append(key)
    table = WritebackRecord
    with database.engine.begin() as db:
        for key in settled:
            row = stored[key]
            match = (
                (table.connection_id == connection_id)
                & (table.object_type == key[0])
                & (table.external_id == key[1])
            )
            if key in digests:
                db.execute(
                    update(table)
                    .where(match)
                    .values(failures=0, last_error=None, next_attempt_at=None)
                )
                row.failures, row.next_attempt_at = 0, None
            else:
                db.execute(delete(table).where(match))
                del stored[key]


def _preview(
    wanted: Sequence[_Wanted], stored: dict[tuple[str, str], _Stored]
) -> list[ValueChange]:
    changes = []
    for item in wanted[:PREVIEW]:
        before = stored.get((item.object_type, item.external_id))
        old = before.values if before else {}
        changes.append(
            ValueChange(
                object=item.object_type,
                id=item.external_id,
                values={k: v for k, v in item.payload.items() if old.get(k, object()) != v},
            )
        )
    return changes


def _counted(
    target: WritebackTarget,
    report: WritebackReport,
    write: Callable[[str, Sequence[RecordUpdate]], list[WriteOutcome]],
    object_type: str,
) -> Callable[[Sequence[_Wanted]], list[WriteOutcome]]:
    """`write` for these records, its HTTP calls (a Bulk job's polls too) in `write_calls`."""

    def send(items: Sequence[_Wanted]) -> list[WriteOutcome]:
        before = target.budget.calls
        try:
            return write(object_type, [RecordUpdate(w.external_id, w.payload) for w in items])
        finally:
            report.write_calls += target.budget.calls - before

    return send


def _send(
    database: Database,
    target: WritebackTarget,
    report: WritebackReport,
    due: Iterator[list[_Wanted]],
    stored: dict[tuple[str, str], _Stored],
    now: datetime,
) -> None:
    """Write the due records, chunk by chunk as they are computed. Nothing due: no call at
    all, not even the login. Every record taken from `due` ends committed, written or failed."""
    first = next((chunk for chunk in due if chunk), None)
    if first is None:
        return
    writer = target.open()
    problems = [c.problem for c in check_target(target) if c.problem]
    report.api_calls = target.budget.calls
    if problems:
        report.error = (
            f"{NOT_READY}, nothing was written: "
            + "; ".join(problems)
            + f" — run `milestones crm setup-fields {target.connection}`"
        )
        return
    recorder = _Recorder(database, target, report, stored, now)
    settings = target.settings
    threshold = (
        settings.writeback_bulk_threshold if isinstance(settings, SalesforceSettings) else None
    )
    chunks = itertools.chain([first], due)
    batches = stream_batches(chunks, writer, threshold, lambda w: w.object_type)
    rejected_in_a_row = 0
    splitting = True
    for batch in batches:
        if target.budget.exhausted:  # the CRM says the connection's quota share is used up
            report.error = f"stopped at the configured quota share ({target.budget.describe()})"
            note = f"not sent: {report.error}"
            for rest in itertools.chain([batch], batches):
                recorder.commit(rest.items, _failed(rest.items, note))
            return
        write = writer.update_job if isinstance(writer, BulkFieldWriter) and batch.bulk else None
        report.bulk_jobs += write is not None
        send = _counted(target, report, write or writer.update, batch.object_type)
        try:
            outcomes = send(batch.items)
        except PayloadRefused as refused:
            if splitting and len(batch.items) > 1:
                split = isolate(
                    batch.items, refused, send, recorder.commit, lambda w: w.external_id
                )
                splitting = split.written > 0 and not split.unresolved  # else: no single record
                error: ConnectorError = split.stopped or refused
                if split.written and split.stopped is None:
                    rejected_in_a_row = 0
                    continue
            else:
                recorder.commit(batch.items, _failed(batch.items, whole_call(refused)))
                error = refused
        except Interrupted:  # unsent records stay due, with no failure counted against them
            report.error = "stopped on request; the next run writes the rest"
            report.status = "stopped"  # neither failed nor partial: asked to stop
            return
        except ConnectorError as rejected:
            recorder.commit(batch.items, _failed(batch.items, whole_call(rejected)))
            error = rejected
        else:
            rejected_in_a_row, splitting = 0, True
            recorder.commit(batch.items, outcomes)
            continue
        rejected_in_a_row += 1
        if isinstance(error, AuthenticationError | QuotaReached | Unreachable):
            report.error = str(error)
        elif rejected_in_a_row >= MAX_REJECTED_CALLS:
            report.error = f"stopped after {MAX_REJECTED_CALLS} rejected calls in a row"
        else:
            continue
        # stop; what was not sent stays queued for the next run, with the reason
        note = f"not sent: {report.error} (last: {error})"
        for rest in batches:
            recorder.commit(rest.items, _failed(rest.items, note))
        return


def _failed(items: Sequence[_Wanted], reason: str) -> list[WriteOutcome]:
    return [WriteOutcome(w.external_id, False, reason) for w in items]


def run_writeback(
    database: Database,
    box: SecretBox,
    name: str,
    *,
    dry_run: bool = False,
    as_of: datetime | None = None,
    now: datetime | None = None,
    store: KpiStore | None = None,
    retry: RetryPolicy | None = None,
) -> WritebackReport:
    """One write-back run for the connection `name`: diff, write in batches, record.

    Values are computed as of `as_of` (default: the KPI view's as-of); `now` (default: the
    wall clock) stamps what was written and decides which refused records are due again.
    """
    started = time.perf_counter()
    now = now or utcnow()
    with database.sessions() as session:
        connection = get_connection(session, name)
    target = open_target(database, connection, box, retry)
    report = WritebackReport(
        connection=connection.name,
        connection_id=connection.id,
        crm=target.settings.kind,
        dry_run=dry_run,
    )
    locks = LockSession.open(database)
    try:
        if not locks.try_lock(f"writeback:{connection.id}"):
            raise ConflictError(f"a write-back run for {connection.name!r} is in progress")
        _start(database, report)
        try:
            stored = _stored(database, connection.id)
            diff = _Diff(stored, now, report)
            chunks = _wanted_chunks(
                target, database, store or shared_store(database), as_of, report
            )
            if dry_run:
                changed = itertools.chain.from_iterable(diff.split(c)[0] for c in chunks)
                report.changes = _preview(list(changed), stored)
            else:
                # values are computed in a thread while the first batches are being written
                values = prefetched(chunks, name=f"write-back values {connection.id}")
                try:
                    due = (diff.split(chunk)[1] for chunk in values)
                    _send(database, target, report, due, stored, now)
                    for _unsent in due:  # counted even when nothing could be sent
                        pass
                finally:
                    values.close()
                _settle(database, connection.id, diff.digests, stored)
        except Interrupted as error:  # asked to stop before or between calls
            report.error, report.status = f"{error}; the next run writes the rest", "stopped"
        except (ConnectorError, MilestonesError) as error:
            report.error = getattr(error, "detail", None) or str(error)
        finally:
            report.api_calls = target.budget.calls
            target.close()
            report.seconds = round(time.perf_counter() - started, 3)
            _finish(database, report)
    finally:
        locks.close()
    # a scheduled pass that found nothing to write is routine: DEBUG, so that a terminal
    # (`make demo`) shows what changed, not a line for every pass
    routine = report.status == "succeeded" and not report.records_written
    log.log(
        logging.DEBUG if routine else logging.INFO,
        "write-back run",
        extra=report.model_dump(exclude={"changes"}),
    )
    return report


def run_writebacks(
    database: Database,
    box: SecretBox,
    name: str | None = None,
    *,
    dry_run: bool = False,
    automatic: bool = False,
    store: KpiStore | None = None,
    retry: RetryPolicy | None = None,
    as_of_setting: AsOf = "data",
) -> list[WritebackReport]:
    """Write back one connection, or every enabled Salesforce and HubSpot connection
    (`automatic`: only those whose settings have write-back on)."""
    with database.sessions() as session:
        if name is not None:
            names = [get_connection(session, name).name]
        else:
            rows = session.scalars(
                select(Connection)
                .where(Connection.enabled.is_(True), Connection.kind.in_(("salesforce", "hubspot")))
                .order_by(Connection.name)
            )
            names = [
                row.name
                for row in rows
                if not automatic or (row.settings.get("writeback") or {}).get("enabled", True)
            ]
    store = store or shared_store(database, as_of_setting)
    return [
        run_writeback(database, box, n, dry_run=dry_run, store=store, retry=retry) for n in names
    ]


def automatic_writeback(
    database: Database, box: SecretBox, connection_id: int, retry: RetryPolicy | None = None
) -> WritebackReport | WritebackSkipped | None:
    """The pipeline's last stage: write back this connection if its settings say so."""
    with database.sessions() as session:
        connection = session.get(Connection, connection_id)
        if connection is None or connection.kind not in ("salesforce", "hubspot"):
            return None
        if not (connection.settings.get("writeback") or {}).get("enabled", True):
            return None
        name = connection.name
        last = session.execute(
            select(WritebackRun.started_at, WritebackRun.error)
            .where(WritebackRun.connection_id == connection_id, WritebackRun.dry_run.is_(False))
            .order_by(desc(WritebackRun.started_at), desc(WritebackRun.id))
            .limit(1)
        ).first()
    if (
        last is not None
        and (last.error or "").startswith(NOT_READY)
        and utcnow() - last.started_at < FIELDS_RECHECK
        and last.started_at >= _settings_changed(database, connection_id)
    ):
        return WritebackSkipped(error=last.error)
    try:
        return run_writeback(database, box, name, retry=retry)
    except ConflictError as error:
        return WritebackSkipped(error=error.detail)


def _settings_changed(database: Database, connection_id: int) -> datetime:
    with database.sessions() as session:
        connection = session.get(Connection, connection_id)
        return connection.updated_at if connection is not None else utcnow()


def list_runs(
    database: Database, connection: str | None = None, limit: int = 50
) -> list[WritebackRunPublic]:
    with database.sessions() as session:
        query = (
            select(WritebackRun, Connection.name)
            .join(Connection, Connection.id == WritebackRun.connection_id)
            .order_by(desc(WritebackRun.started_at), desc(WritebackRun.id))
            .limit(limit)
        )
        if connection is not None:
            query = query.where(Connection.id == get_connection(session, connection).id)
        return [
            WritebackRunPublic(
                id=run.id,
                connection=name,
                dry_run=run.dry_run,
                status=run.status,
                started_at=run.started_at,
                finished_at=run.finished_at,
                records_checked=run.records_checked,
                records_changed=run.records_changed,
                records_written=run.records_written,
                records_failed=run.records_failed,
                records_deferred=run.records_deferred,
                api_calls=run.api_calls,
                error=run.error,
            )
            for run, name in session.execute(query)
        ]


def failing_records(
    database: Database, connection: str, limit: int = 100
) -> list[FailingRecordPublic]:
    """Records the CRM refused, with its message and when they are tried again."""
    with database.sessions() as session:
        connection_id = get_connection(session, connection).id
        rows = session.scalars(
            select(WritebackRecord)
            .where(
                WritebackRecord.connection_id == connection_id,
                WritebackRecord.failures > 0,
            )
            .order_by(WritebackRecord.next_attempt_at, WritebackRecord.id)
            .limit(limit)
        )
        return [
            FailingRecordPublic(
                object=row.object_type,
                id=row.external_id,
                failures=row.failures,
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                written_at=row.written_at,
            )
            for row in rows
        ]
