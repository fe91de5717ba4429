"""What write-back looks like from outside: one run's report, past runs, refused records.

The API and `milestones writeback ... --json` answer with these models; the pipeline keeps a
run's report (without its preview of changes) in the job's result.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.timestamps import IsoDateTime

__all__ = [
    "FailingRecordPublic",
    "FailingRecordsPublic",
    "RefusedRecord",
    "ValueChange",
    "WritebackReport",
    "WritebackRunPublic",
    "WritebackRunsPublic",
    "WritebackSkipped",
]


class RefusedRecord(BaseModel):
    object: str
    id: str
    error: str


class ValueChange(BaseModel):
    """A record a dry run would write, with only the values that differ from the last write."""

    object: str
    id: str
    values: dict[str, Any]


class WritebackReport(BaseModel):
    """One write-back run, counted as it goes."""

    connection: str
    connection_id: int = Field(exclude=True)
    crm: str
    dry_run: bool
    run_id: int | None = None
    status: str = "running"
    """running, then succeeded, partial (some records refused), failed, or stopped (asked to
    stop: the next run writes the rest)."""
    as_of: IsoDateTime | None = Field(
        default=None,
        description="The data clock the values were computed at: the `as_of` the API answers "
        "with for the same state.",
    )
    records_checked: int = 0
    records_changed: int = 0
    records_written: int = 0
    records_failed: int = 0
    records_deferred: int = Field(
        default=0, description="Changed, but waiting for a retry time after earlier failures."
    )
    api_calls: int = 0
    write_calls: int = 0
    bulk_jobs: int = Field(
        default=0,
        description="Salesforce Bulk API 2.0 ingest jobs among the writes "
        "(above `writeback_bulk_threshold`).",
    )
    seconds: float = 0.0
    error: str | None = None
    failures: list[RefusedRecord] = Field(default_factory=list)
    changes: list[ValueChange] = Field(
        default_factory=list, description="A preview of what changed (dry runs)."
    )


class WritebackSkipped(BaseModel):
    """The pipeline's write-back stage did not run, and why."""

    status: Literal["skipped"] = "skipped"
    error: str | None


class WritebackRunPublic(BaseModel):
    id: int
    connection: str
    dry_run: bool
    status: str
    started_at: IsoDateTime
    finished_at: IsoDateTime | None
    records_checked: int
    records_changed: int
    records_written: int
    records_failed: int
    records_deferred: int = Field(
        description="Changed, but not sent: still waiting for their retry time after earlier "
        "failures."
    )
    api_calls: int
    error: str | None


class WritebackRunsPublic(BaseModel):
    data: list[WritebackRunPublic]
    count: int


class FailingRecordPublic(BaseModel):
    object: str
    id: str
    failures: int
    last_error: str | None
    next_attempt_at: IsoDateTime | None
    written_at: IsoDateTime | None


class FailingRecordsPublic(BaseModel):
    data: list[FailingRecordPublic]
    count: int
