"""The page loop every stream runs through.

A reader turns API pages into `Page`s; the engine advances the cursor and hands each page to
the sink, which stores records, quarantined rows and the cursor in one transaction. A run
killed at any point therefore resumes from its last committed page; re-reading a page is
harmless because the raw layer's upsert is idempotent. The next page is fetched while the
current one is stored (`prefetched`), so a sync takes about as long as the slower of the two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from connectors.core.budget import ApiBudget
from connectors.core.cursor import CursorState
from connectors.core.prefetch import prefetched
from connectors.core.records import Record
from connectors.core.streams import StreamSpec

__all__ = [
    "Page",
    "PageCounts",
    "Quarantined",
    "StreamReader",
    "StreamResult",
    "SyncSink",
    "run_stream",
]

StopReason = Literal["done", "quota", "stopped"]


@dataclass(frozen=True)
class Quarantined:
    """A record the connector could not accept, kept with the reason."""

    external_id: str | None
    reason: str
    payload: dict[str, Any] | None = None


@dataclass
class Page:
    """One API page, as the reader hands it over.

    `high_water` is how far the cursor may advance once this page is stored: the newest
    modification time for readers that page in cursor order, or nothing until the end for
    readers that cannot (a list ordered by id resumes through `resume` instead).
    """

    records: list[Record]
    quarantined: list[Quarantined] = field(default_factory=list)
    high_water: datetime | None = None
    resume: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PageCounts:
    new: int = 0
    changed: int = 0
    deleted: int = 0


class StreamReader(Protocol):
    def pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]: ...

    def close(self) -> None:
        """Release connections; called once the run is over."""


class SyncSink(Protocol):
    def commit_page(self, spec: StreamSpec, page: Page, cursor: CursorState) -> PageCounts: ...


@dataclass
class StreamResult:
    stream: str
    records_read: int = 0
    records_new: int = 0
    records_changed: int = 0
    records_deleted: int = 0
    records_quarantined: int = 0
    pages: int = 0
    api_calls: int = 0
    bytes_received: int = 0
    seconds: float = 0.0
    stopped: StopReason = "done"


def run_stream(
    reader: StreamReader,
    spec: StreamSpec,
    cursor: CursorState,
    sink: SyncSink,
    budget: ApiBudget,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_page: Callable[[StreamResult], None] = lambda _result: None,
) -> StreamResult:
    """Run one stream to its end, or until the quota share is reached or a stop is asked."""
    result = StreamResult(stream=spec.name)
    calls_before, bytes_before = budget.calls, budget.bytes_received
    started = time.perf_counter()
    pages = prefetched(
        reader.pages(spec, cursor),
        may_fetch=lambda: not budget.exhausted,
        name=f"{spec.name} pages",
    )
    try:
        for page in pages:
            cursor.advance(page.high_water)
            cursor.resume = page.resume
            counts = sink.commit_page(spec, page, cursor)
            result.pages += 1
            result.records_read += len(page.records)
            result.records_new += counts.new
            result.records_changed += counts.changed
            result.records_deleted += counts.deleted
            result.records_quarantined += len(page.quarantined)
            result.api_calls = budget.calls - calls_before
            on_page(result)
            if should_stop():
                result.stopped = "stopped"
                break
        else:
            # The reader fetches nothing once the quota share is spent; every page it did
            # fetch has been stored by now.
            if budget.exhausted:
                result.stopped = "quota"
    finally:
        pages.close()
    result.api_calls = budget.calls - calls_before
    result.bytes_received = budget.bytes_received - bytes_before
    result.seconds = time.perf_counter() - started
    return result
