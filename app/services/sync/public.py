"""What sync looks like from outside: past runs, and how fresh each connection is now.

`GET /api/v1/sync-runs`, `GET /api/v1/sync-status` and `milestones status --json` answer with
these models; moments are written `...Z`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

__all__ = [
    "ConnectionFreshness",
    "LastRun",
    "QueueDepth",
    "RecentError",
    "RunningJob",
    "SchedulerState",
    "StreamFreshness",
    "SyncRunPublic",
    "SyncRunStreamPublic",
    "SyncRunsPublic",
    "SyncStatus",
]


class SyncRunStreamPublic(BaseModel):
    stream: str
    read: int
    new: int
    changed: int
    deleted: int
    quarantined: int
    api_calls: int
    bytes_received: int
    duration_ms: int
    error: str | None


class SyncRunPublic(BaseModel):
    id: int
    connection: str
    trigger: str
    full: bool
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    api_calls: int
    bytes_received: int
    records_read: int
    records_new: int
    records_changed: int
    records_deleted: int
    error: str | None
    streams: list[SyncRunStreamPublic]


class SyncRunsPublic(BaseModel):
    data: list[SyncRunPublic]
    count: int
    next_before: int | None


class LastRun(BaseModel):
    id: int
    status: str
    trigger: str
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class RunningJob(BaseModel):
    job: int
    worker: str | None
    trigger: str
    started_at: datetime | None
    attempts: int


class RecentError(BaseModel):
    run_id: int
    at: datetime | None
    error: str | None


class StreamFreshness(BaseModel):
    """A stream's last run and where its cursor stands."""

    stream: str
    last_run_id: int
    status: str
    started_at: datetime | None
    read: int
    new: int
    changed: int
    deleted: int
    error: str | None
    cursor: datetime | None


class ConnectionFreshness(BaseModel):
    name: str
    kind: str
    enabled: bool
    interval_seconds: int
    ruleset_version: int | None
    """The ruleset version active on it (its number); none: its records are not mapped."""
    last_run: LastRun | None
    lag_seconds: float | None
    next_run_at: datetime | None
    running: RunningJob | None
    errors: list[RecentError]
    streams: list[StreamFreshness]


class SchedulerState(BaseModel):
    """`syncing` counts the connections being synced now and `mapping` the mapping runs in
    progress; SQLite cannot tell (null)."""

    leader: str | None
    leader_alive: bool
    syncing: int | None
    mapping: int | None


class QueueDepth(BaseModel):
    queued: int
    running: int


class SyncStatus(BaseModel):
    now: datetime
    data_clock: datetime
    """The instant every KPI and written field is computed as of (`app.services.state.clock`)."""
    scheduler: SchedulerState
    queue: QueueDepth
    connections: list[ConnectionFreshness]
