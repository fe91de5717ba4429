"""The page loop: every page is committed with its cursor; quota and stop requests end cleanly.

The next page is read while the current one is stored, never further ahead."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.core import (
    ApiBudget,
    ConnectorError,
    CursorState,
    Page,
    PageCounts,
    Quarantined,
    Record,
    StreamRun,
    StreamSpec,
    run_stream,
    run_streams,
)
from connectors.core.prefetch import waiting

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = StreamSpec(name="Task", object="Task", cursor_field="SystemModstamp")


class FakeReader:
    def __init__(self, pages: list[Page], budget: ApiBudget, usage: list[int] | None = None):
        self._pages = pages
        self._budget = budget
        self._usage = usage or []
        self.started_from: list[object] = []

    def pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]:
        self.started_from.append(cursor.start_value)
        for index, page in enumerate(self._pages):
            used = self._usage[index] if index < len(self._usage) else None
            self._budget.record(100, used=used, limit=1000 if used is not None else None)
            yield page


class RecordingSink:
    def __init__(self) -> None:
        self.commits: list[tuple[int, datetime | None, dict[str, object]]] = []

    def commit_page(self, spec: StreamSpec, page: Page, cursor: CursorState) -> PageCounts:
        self.commits.append((len(page.records), cursor.last_value, dict(cursor.resume)))
        deleted = sum(record.deleted for record in page.records)
        return PageCounts(new=len(page.records) - deleted, deleted=deleted)


def _page(start: int, count: int, *, deleted: int = 0) -> Page:
    records = [
        Record(f"00T{i}", T0 + timedelta(minutes=i), {"Id": f"00T{i}"}, deleted=i < start + deleted)
        for i in range(start, start + count)
    ]
    return Page(records, high_water=records[-1].modified_at, resume={"page": start})


def test_each_page_is_committed_with_the_cursor_advanced_to_it() -> None:
    budget = ApiBudget()
    sink = RecordingSink()
    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0 + timedelta(days=1))
    result = run_stream(
        FakeReader([_page(0, 3), _page(3, 2, deleted=1)], budget), SPEC, cursor, sink, budget
    )
    assert sink.commits == [
        (3, T0 + timedelta(minutes=2), {"page": 0}),
        (2, T0 + timedelta(minutes=4), {"page": 3}),
    ]
    assert (result.records_read, result.records_new, result.records_deleted) == (5, 4, 1)
    assert (result.pages, result.api_calls, result.stopped) == (2, 2, "done")
    assert result.bytes_received == 200


def test_quarantined_rows_are_counted_and_committed_with_their_page() -> None:
    budget = ApiBudget()
    page = Page([], quarantined=[Quarantined("00Tx", "missing Id")], high_water=None)
    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0)
    result = run_stream(FakeReader([page], budget), SPEC, cursor, RecordingSink(), budget)
    assert result.records_quarantined == 1
    assert cursor.last_value is None


def test_a_page_without_high_water_leaves_the_cursor_where_it_was() -> None:
    budget = ApiBudget()
    listed = Page([Record("1", T0, {})], high_water=None, resume={"after": "1"})
    cursor = CursorState.begin(T0 - timedelta(days=1), lookback=timedelta(0), now=T0)
    run_stream(FakeReader([listed], budget), SPEC, cursor, RecordingSink(), budget)
    assert cursor.last_value == T0 - timedelta(days=1)
    assert cursor.resume == {"after": "1"}


def test_reaching_the_quota_share_stops_after_the_committed_page() -> None:
    budget = ApiBudget(max_share=0.8)
    sink = RecordingSink()
    reader = FakeReader([_page(0, 1), _page(1, 1), _page(2, 1)], budget, usage=[500, 850, 900])
    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0 + timedelta(days=1))
    result = run_stream(reader, SPEC, cursor, sink, budget)
    assert result.stopped == "quota"
    assert len(sink.commits) == 2
    assert "850/1,000" in budget.describe()


def test_a_stop_request_ends_the_stream_after_the_current_page() -> None:
    budget = ApiBudget()
    sink = RecordingSink()
    reader = FakeReader([_page(0, 1), _page(1, 1)], budget)
    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0 + timedelta(days=1))
    result = run_stream(reader, SPEC, cursor, sink, budget, should_stop=lambda: True)
    assert (result.stopped, len(sink.commits)) == ("stopped", 1)


class SignallingReader:
    """Pages that say when they were fetched, and remember whether the reader was closed."""

    def __init__(self, count: int, budget: ApiBudget, fail_at: int | None = None) -> None:
        self.fetched = [threading.Event() for _ in range(count)]
        self.count, self.budget, self.fail_at = count, budget, fail_at
        self.closed = False

    def pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]:
        try:
            for index in range(self.count):
                if index == self.fail_at:
                    raise ConnectorError(f"page {index} is malformed")
                self.budget.record(100)
                self.fetched[index].set()
                yield _page(index, 1)
        finally:
            self.closed = True


def test_the_next_page_is_fetched_while_the_current_one_is_stored() -> None:
    budget = ApiBudget()
    reader = SignallingReader(3, budget)
    overlapped: list[bool] = []

    class WaitingSink(RecordingSink):
        def commit_page(self, spec: StreamSpec, page: Page, cursor: CursorState) -> PageCounts:
            index = len(self.commits)
            if index + 1 < reader.count:
                overlapped.append(reader.fetched[index + 1].wait(timeout=5))
            return super().commit_page(spec, page, cursor)

    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0 + timedelta(days=1))
    result = run_stream(reader, SPEC, cursor, WaitingSink(), budget)
    assert overlapped == [True, True]
    assert (result.pages, result.api_calls, result.stopped) == (3, 3, "done")
    assert reader.closed


def test_a_reader_error_surfaces_after_every_earlier_page_is_committed() -> None:
    budget = ApiBudget()
    sink = RecordingSink()
    reader = SignallingReader(4, budget, fail_at=2)
    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0 + timedelta(days=1))
    with pytest.raises(ConnectorError, match="page 2 is malformed"):
        run_stream(reader, SPEC, cursor, sink, budget)
    assert [resume for _n, _at, resume in sink.commits] == [{"page": 0}, {"page": 1}]
    assert cursor.resume == {"page": 1}
    assert reader.closed


def test_a_stop_costs_at_most_the_page_in_flight_and_closes_the_reader() -> None:
    budget = ApiBudget()
    sink = RecordingSink()
    reader = SignallingReader(10, budget)
    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0 + timedelta(days=1))
    result = run_stream(reader, SPEC, cursor, sink, budget, should_stop=lambda: True)
    assert (result.stopped, len(sink.commits)) == ("stopped", 1)
    assert budget.calls <= 2
    assert reader.closed


def test_a_quota_spent_before_the_first_page_fetches_nothing() -> None:
    budget = ApiBudget(max_share=0.5)
    budget.record(100, used=600, limit=1000)
    reader = SignallingReader(2, budget)
    cursor = CursorState.begin(None, lookback=timedelta(0), now=T0 + timedelta(days=1))
    result = run_stream(reader, SPEC, cursor, RecordingSink(), budget)
    assert (result.stopped, result.pages, result.api_calls) == ("quota", 0, 0)


class Streams:
    """Several streams by name: pages of one record each, a stream that fails at a page, and
    one that waits on the CRM (`waiting`) until another stream has handed over a page."""

    def __init__(self, budget: ApiBudget, at_once: int) -> None:
        self.budget = budget
        self.streams_at_once = at_once
        self.handed_over = threading.Event()
        self.others_read_meanwhile: list[bool] = []

    def pages(self, spec: StreamSpec, cursor: CursorState) -> Iterator[Page]:
        if spec.name == "Waits":
            with waiting():  # the timeout only guards against a hang: the order is asserted
                self.others_read_meanwhile.append(self.handed_over.wait(timeout=30))
        for index in range(3):
            if spec.name == "Fails" and index == 2:
                raise ConnectorError("page 2 is malformed")
            self.budget.record(100)
            if spec.name != "Waits":
                self.handed_over.set()
            yield _page(index, 1)


def _spec(name: str) -> StreamSpec:
    return StreamSpec(name=name, object=name, cursor_field="SystemModstamp")


def test_streams_read_at_once_keep_their_own_pages_cursors_calls_and_failures() -> None:
    budget = ApiBudget()
    now = T0 + timedelta(days=1)
    sinks = {name: RecordingSink() for name in ("Fails", "Task", "Event")}
    runs = [
        StreamRun(_spec(name), CursorState.begin(None, lookback=timedelta(0), now=now), sink)
        for name, sink in sinks.items()
    ]
    outcomes = {o.spec.name: o for o in run_streams(Streams(budget, at_once=3), runs, budget)}
    failed = outcomes["Fails"]
    assert isinstance(failed.error, ConnectorError) and failed.result.pages == 2
    assert [resume for _n, _at, resume in sinks["Fails"].commits] == [{"page": 0}, {"page": 1}]
    assert runs[0].cursor.resume == {"page": 1}
    for name in ("Task", "Event"):
        assert outcomes[name].error is None and outcomes[name].result.pages == 3
        assert len(sinks[name].commits) == 3
    assert {name: o.result.api_calls for name, o in outcomes.items()} == {
        "Fails": 2,
        "Task": 3,
        "Event": 3,
    }
    assert budget.calls == 8


def test_a_stream_waiting_on_the_crm_lets_another_read_meanwhile() -> None:
    budget = ApiBudget()
    reader = Streams(budget, at_once=1)
    now = T0 + timedelta(days=1)
    runs = [
        StreamRun(_spec(name), CursorState.begin(None, lookback=timedelta(0), now=now), sink)
        for name, sink in (("Waits", RecordingSink()), ("Task", RecordingSink()))
    ]
    outcomes = list(run_streams(reader, runs, budget))
    # one stream at a time, yet the second read while the first waited
    assert reader.others_read_meanwhile == [True]
    assert sorted(o.spec.name for o in outcomes) == ["Task", "Waits"]
    assert all(o.error is None and o.result.pages == 3 for o in outcomes)


def test_a_stop_ends_every_stream_read_at_once() -> None:
    budget = ApiBudget()
    now = T0 + timedelta(days=1)
    runs = [
        StreamRun(_spec(name), CursorState.begin(None, lookback=timedelta(0), now=now), sink)
        for name, sink in (("Task", RecordingSink()), ("Event", RecordingSink()))
    ]
    stored: list[str] = []
    outcomes = list(
        run_streams(
            Streams(budget, 2),
            runs,
            budget,
            on_page=lambda result: stored.append(result.stream),
            should_stop=lambda: len(stored) == 2,  # both streams have started by then
        )
    )
    assert {o.spec.name: o.result.stopped for o in outcomes} == {
        "Task": "stopped",
        "Event": "stopped",
    }
    assert sum(o.result.pages for o in outcomes) == 2
