"""The page loop every stream runs through.

A reader turns API pages into `Page`s; the engine advances the cursor and hands each page to
the sink, which stores records, quarantined rows and the cursor in one transaction. A run
killed at any point therefore resumes from its last committed page; re-reading a page is
harmless because the raw layer's upsert is idempotent. The next page is fetched while the
current one is stored (`prefetch`), so a sync takes about as long as the slower of the two.

A reader may read several streams at once (its `streams_at_once`, 1 if it says nothing):
`run_streams` then reads up to that many, each one page ahead in a thread of its own, while
the caller's thread stores their pages one at a time as they arrive. However many streams are
open, at most the reader's `pages_at_once` pages are being fetched or wait to be stored, so
memory stays bounded; a stream waiting on the CRM (a Bulk job Salesforce is running, inside
`prefetch.waiting()`) holds none of them, and the time it waits goes into reading the others.
A stream's pages and cursor are its own, so a stream that fails leaves the others' pages and
cursors as they are.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from connectors.core.budget import ApiBudget, Usage, metered
from connectors.core.cursor import CursorState
from connectors.core.prefetch import Ended, Failed, Producer, Slots, Waiting
from connectors.core.records import Record
from connectors.core.streams import StreamSpec

__all__ = [
    "Page",
    "PageCounts",
    "Quarantined",
    "StreamOutcome",
    "StreamReader",
    "StreamResult",
    "StreamRun",
    "SyncSink",
    "run_stream",
    "run_streams",
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
    """Run one stream to its end, or until the quota share is reached or a stop is asked.
    The reader's error is raised after every page before it has been stored."""
    streams = run_streams(
        reader, [StreamRun(spec, cursor, sink)], budget, should_stop=should_stop, on_page=on_page
    )
    try:
        [outcome] = list(streams)
    finally:
        streams.close()
    if outcome.error is not None:
        raise outcome.error
    return outcome.result


@dataclass
class StreamRun:
    """One stream to read: where it starts and where its pages go."""

    spec: StreamSpec
    cursor: CursorState
    sink: SyncSink


@dataclass
class StreamOutcome:
    """How a stream ended: its counts, and the reader's error if it failed (every page read
    before the error has been stored)."""

    spec: StreamSpec
    result: StreamResult
    error: BaseException | None = None


@dataclass
class _Reading:
    run: StreamRun
    result: StreamResult
    usage: Usage
    started: float
    waited: bool = False  # has waited on the CRM: no longer counts among the streams at once

    def outcome(self, error: BaseException | None = None) -> StreamOutcome:
        self.result.api_calls = self.usage.calls
        self.result.bytes_received = self.usage.bytes_received
        self.result.seconds = time.perf_counter() - self.started
        return StreamOutcome(self.run.spec, self.result, error)


class _Streams:
    def __init__(
        self,
        reader: StreamReader,
        budget: ApiBudget,
        should_stop: Callable[[], bool],
        on_page: Callable[[StreamResult], None],
    ) -> None:
        self.reader = reader
        self.budget = budget
        self.at_once = max(1, int(getattr(reader, "streams_at_once", 1)))
        self.slots = Slots(max(2, int(getattr(reader, "pages_at_once", self.at_once + 1))))
        self.should_stop = should_stop
        self.on_page = on_page
        self.arrivals: queue.SimpleQueue[tuple[Producer[Page], Page | Ended | Failed | Waiting]] = (
            queue.SimpleQueue()
        )
        self.reading: dict[Producer[Page], _Reading] = {}
        self.started: list[Producer[Page]] = []

    def start(self, run: StreamRun) -> None:
        usage = Usage()
        producer: Producer[Page] = Producer(
            self.reader.pages(run.spec, run.cursor),
            self.arrivals,
            may_fetch=lambda: not self.budget.exhausted,
            name=f"{run.spec.name} pages",
            context=metered(usage),  # the thread counts its calls into `usage`
            slots=self.slots,
        )
        self.reading[producer] = _Reading(
            run, StreamResult(stream=run.spec.name), usage, time.perf_counter()
        )
        self.started.append(producer)
        producer.start()

    def store(self, reading: _Reading, page: Page) -> None:
        run, result = reading.run, reading.result
        run.cursor.advance(page.high_water)
        run.cursor.resume = page.resume
        counts = run.sink.commit_page(run.spec, page, run.cursor)
        result.pages += 1
        result.records_read += len(page.records)
        result.records_new += counts.new
        result.records_changed += counts.changed
        result.records_deleted += counts.deleted
        result.records_quarantined += len(page.quarantined)
        result.api_calls = reading.usage.calls
        self.on_page(result)

    def busy(self) -> int:
        """The streams that count among the streams read at once: a stream that waits on the
        CRM holds no page, and lets another start meanwhile."""
        return sum(not reading.waited for reading in self.reading.values())

    def close(self) -> None:
        for producer in self.started:
            producer.halt()
        for producer in self.started:
            producer.join()


def run_streams(
    reader: StreamReader,
    streams: Sequence[StreamRun],
    budget: ApiBudget,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_page: Callable[[StreamResult], None] = lambda _result: None,
    stop: Callable[[], bool] = lambda: False,
) -> Generator[StreamOutcome, None, None]:
    """Read `streams`, up to the reader's `streams_at_once` at a time (not counting those that
    have waited on the CRM: see `prefetch.waiting`), and store their pages in this thread as
    they arrive; yield each stream's outcome as it ends.

    Streams start in the order given, and fetch in the order they asked to; the first runs
    alone until it has answered or waits on the CRM (a CRM that refuses the login or cannot be
    reached fails once, not once per stream). A stream's
    failure is its outcome's `error`; the others go on. Once the quota share is reached no
    further stream starts and each running one ends at its next page (`stopped="quota"`). Once
    `should_stop` (asked after every stored page) or `stop` (asked after every outcome, for
    the caller's own reasons: a failure that every stream would meet) is true, the streams
    still running end at once as `stopped`, their pages in flight unstored, and nothing more
    starts. Closing the iterator ends the streams still running, unreported.
    """
    pending = deque(streams)
    run = _Streams(reader, budget, should_stop, on_page)
    answered = stopping = False
    try:
        while pending or run.reading:
            room = run.at_once if answered else 1
            while pending and run.busy() < room:
                if run.started and budget.exhausted:
                    break
                run.start(pending.popleft())
            if not run.reading:
                return
            producer, item = run.arrivals.get()
            answered = True
            reading = run.reading.get(producer)
            if reading is None:
                continue  # ended already
            if isinstance(item, Waiting):
                reading.waited = True  # it got that far; and another stream may start
                continue
            if isinstance(item, Failed):
                run.slots.release()
                del run.reading[producer]
                yield reading.outcome(item.error)
            elif isinstance(item, Ended):
                run.slots.release()
                del run.reading[producer]
                if budget.exhausted:
                    reading.result.stopped = "quota"
                yield reading.outcome()
            else:
                producer.taken()
                try:
                    run.store(reading, item)
                finally:
                    run.slots.release()
                del item
                if not should_stop():
                    continue
                stopping = True
                reading.result.stopped = "stopped"
                del run.reading[producer]
                yield reading.outcome()
            if stopping or stop():
                for left in list(run.reading.values()):
                    left.result.stopped = "stopped"
                    yield left.outcome()
                run.reading.clear()
                return
    finally:
        run.close()
