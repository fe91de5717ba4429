"""Prometheus metrics at `/metrics`: the database's view of every sync, plus this process's own.

Sync and write-back figures are read from the database at scrape time (`DatabaseCollector`),
so every API process reports the whole deployment, whichever worker did the work. What only
an API process sees — webhooks received and refused, trigger calls — is counted in the process
(`Metrics.webhooks`); Prometheus sums it over the API processes it scrapes.

    metrics = Metrics(database)
    metrics.webhooks.labels(source="hubspot", outcome="replayed").inc()
    body = metrics.render()
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.core.database import Database
from app.models import Connection, SyncJob, SyncRun, SyncRunStream, WritebackRun
from app.models.base import utcnow
from app.services.jobs.locks import LEADER_LOCK, held_locks

__all__ = ["CONTENT_TYPE_LATEST", "DatabaseCollector", "Metrics"]

log = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    """Counters and gauges computed from sync runs, jobs and write-back runs."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._collect()
        except SQLAlchemyError as error:
            log.warning("metrics: database unavailable", extra={"error": str(error)})
            up = GaugeMetricFamily("milestones_database_up", "Whether the database answered.")
            up.add_metric([], 0)
            yield up

    def _collect(self) -> Iterator[Metric]:
        now = utcnow()
        with self.database.sessions() as session:
            names = dict(session.execute(select(Connection.id, Connection.name)).tuples().all())
            streams = session.execute(
                select(
                    SyncRun.connection_id,
                    SyncRunStream.stream,
                    func.sum(SyncRunStream.records_read),
                    func.sum(SyncRunStream.records_new),
                    func.sum(SyncRunStream.records_changed),
                    func.sum(SyncRunStream.records_deleted),
                    func.sum(SyncRunStream.records_quarantined),
                    func.count(SyncRunStream.error),
                )
                .join(SyncRun, SyncRun.id == SyncRunStream.sync_run_id)
                .group_by(SyncRun.connection_id, SyncRunStream.stream)
            ).all()
            runs = session.execute(
                select(
                    SyncRun.connection_id,
                    SyncRun.status,
                    func.count(),
                    func.sum(SyncRun.api_calls),
                ).group_by(SyncRun.connection_id, SyncRun.status)
            ).all()
            fresh = session.execute(
                select(SyncRun.connection_id, func.max(SyncRun.started_at))
                .where(SyncRun.status.in_(("succeeded", "partial")))
                .group_by(SyncRun.connection_id)
            ).all()
            jobs = session.execute(
                select(SyncJob.status, func.count())
                .where(SyncJob.status.in_(("queued", "running")))
                .group_by(SyncJob.status)
            ).all()
            writebacks = session.execute(
                select(
                    WritebackRun.connection_id,
                    func.sum(WritebackRun.records_checked),
                    func.sum(WritebackRun.records_changed),
                    func.sum(WritebackRun.records_written),
                    func.sum(WritebackRun.records_failed),
                    func.sum(WritebackRun.api_calls),
                ).group_by(WritebackRun.connection_id)
            ).all()

        synced = CounterMetricFamily(
            "milestones_records_synced",
            "Records stored by syncs, by kind of change.",
            labels=["connection", "stream", "change"],
        )
        read = CounterMetricFamily(
            "milestones_records_read", "Records read from the CRM.", labels=["connection", "stream"]
        )
        stream_errors = CounterMetricFamily(
            "milestones_sync_stream_errors",
            "Stream syncs that ended in an error.",
            labels=["connection", "stream"],
        )
        for cid, stream, n_read, new, changed, deleted, quarantined, errors in streams:
            name = names.get(cid, str(cid))
            read.add_metric([name, stream], n_read or 0)
            for change, value in (
                ("new", new),
                ("changed", changed),
                ("deleted", deleted),
                ("quarantined", quarantined),
            ):
                synced.add_metric([name, stream, change], value or 0)
            stream_errors.add_metric([name, stream], errors or 0)
        yield from (read, synced, stream_errors)

        run_count = CounterMetricFamily(
            "milestones_sync_runs", "Sync runs by outcome.", labels=["connection", "status"]
        )
        calls = CounterMetricFamily(
            "milestones_crm_api_calls",
            "CRM API calls made by syncs and write-backs.",
            labels=["connection", "purpose"],
        )
        totals: dict[str, int] = {}
        for cid, status, count, api_calls in runs:
            name = names.get(cid, str(cid))
            run_count.add_metric([name, status], count)
            totals[name] = totals.get(name, 0) + int(api_calls or 0)
        for name, total in totals.items():
            calls.add_metric([name, "sync"], total)

        written = CounterMetricFamily(
            "milestones_writeback_records",
            "Records handled by write-back runs, by result.",
            labels=["connection", "result"],
        )
        for cid, checked, changed, n_written, failed, api_calls in writebacks:
            name = names.get(cid, str(cid))
            for result, value in (
                ("checked", checked),
                ("changed", changed),
                ("written", n_written),
                ("failed", failed),
            ):
                written.add_metric([name, result], value or 0)
            calls.add_metric([name, "writeback"], api_calls or 0)
        yield from (run_count, calls, written)

        lag = GaugeMetricFamily(
            "milestones_freshness_lag_seconds",
            "Seconds since the start of the connection's last completed sync.",
            labels=["connection"],
        )
        for cid, started in fresh:
            lag.add_metric([names.get(cid, str(cid))], (now - started).total_seconds())
        yield lag

        queue = GaugeMetricFamily("milestones_sync_jobs", "Jobs in the queue.", labels=["status"])
        counts = {str(status): int(count) for status, count in jobs}
        for status in ("queued", "running"):
            queue.add_metric([status], counts.get(status, 0))
        yield queue

        if not self.database.is_sqlite:
            leader = GaugeMetricFamily(
                "milestones_scheduler_leader", "Whether a worker leads the schedule."
            )
            leader.add_metric([], 1 if held_locks(self.database, [LEADER_LOCK])[LEADER_LOCK] else 0)
            yield leader
        up = GaugeMetricFamily("milestones_database_up", "Whether the database answered.")
        up.add_metric([], 1)
        yield up


class Metrics:
    """The registry behind one API process's `/metrics`."""

    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseCollector(database))
        self.webhooks = Counter(
            "milestones_webhooks",
            "Webhook deliveries received by this process, by outcome.",
            ["source", "outcome"],
            registry=self.registry,
        )
        for outcome in ("accepted", "unsigned", "stale", "bad_signature", "replayed", "malformed"):
            self.webhooks.labels(source="hubspot", outcome=outcome)
        for outcome in ("accepted", "unauthorized", "malformed"):
            self.webhooks.labels(source="salesforce", outcome=outcome)

    def render(self) -> bytes:
        return generate_latest(self.registry)
