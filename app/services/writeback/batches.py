"""How a write-back run cuts its records into CRM calls, and finds the bad record of a
refused call.

Batches: per object, the CRM's call size (sObject Collections 200, HubSpot 100); on Salesforce,
an object with at least `writeback_bulk_threshold` records due goes out in Bulk API 2.0 ingest
jobs of up to 10,000 instead — a handful of calls per job rather than 50.

Isolation: HubSpot refuses a whole batch with one 400 for one value it cannot take, without
saying which input carries it. Rather than leaving the other 99 records queued for nothing,
`isolate` splits the refused batch in halves and sends them again, down to the record that
is refused alone; a half that is accepted is written (and never sent again), a half known to
hold the bad record (its twin was accepted) is split without a call of its own. One bad
record in 100 costs at most 2·⌈log2 100⌉ = 14 more calls, which is also the bound: past it,
what is left fails with the whole call's reason, queued for the next run like before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from connectors.core import ConnectorError
from connectors.core.writes import BulkFieldWriter, FieldWriter, PayloadRefused, WriteOutcome

__all__ = ["Batch", "Isolation", "isolate", "plan_batches", "stream_batches", "whole_call"]

T = TypeVar("T")


@dataclass(frozen=True)
class Batch(Generic[T]):
    object_type: str
    items: list[T]
    bulk: bool = False
    """A Bulk API 2.0 ingest job rather than one call."""


def plan_batches(
    by_object: dict[str, list[T]], writer: FieldWriter, bulk_threshold: int | None
) -> list[Batch[T]]:
    """Every object's records in calls of the writer's size, or in bulk jobs when there are
    at least `bulk_threshold` of them and the writer has bulk jobs."""
    batches: list[Batch[T]] = []
    for object_type, items in by_object.items():
        bulk = (
            bulk_threshold is not None
            and len(items) >= bulk_threshold
            and isinstance(writer, BulkFieldWriter)
        )
        size = writer.bulk_job_size if isinstance(writer, BulkFieldWriter) and bulk else 0
        size = size or writer.batch_size
        for start in range(0, len(items), size):
            batches.append(Batch(object_type, items[start : start + size], bulk))
    return batches


def stream_batches(
    chunks: Iterable[list[T]],
    writer: FieldWriter,
    bulk_threshold: int | None,
    object_of: Callable[[T], str],
) -> Iterator[Batch[T]]:
    """`plan_batches` for records that arrive in chunks: each call's worth goes out as soon as
    it is complete. Bulk jobs are decided on an object's whole count, so a writer with bulk
    jobs (and a threshold) waits for every chunk first."""
    if bulk_threshold is not None and isinstance(writer, BulkFieldWriter):
        by_object: dict[str, list[T]] = {}
        for chunk in chunks:
            for item in chunk:
                by_object.setdefault(object_of(item), []).append(item)
        yield from plan_batches(by_object, writer, bulk_threshold)
        return
    pending: dict[str, list[T]] = {}
    for chunk in chunks:
        for item in chunk:
            object_type = object_of(item)
            bucket = pending.setdefault(object_type, [])
            bucket.append(item)
            if len(bucket) == writer.batch_size:
                yield Batch(object_type, bucket)
                pending[object_type] = []
    for object_type, bucket in pending.items():
        if bucket:
            yield Batch(object_type, bucket)


def whole_call(error: ConnectorError) -> str:
    return f"the whole call was rejected: {error}"


@dataclass
class Isolation:
    calls: int = 0
    written: int = 0
    stopped: ConnectorError | None = None
    """Another error than a refused value (the CRM down, the token gone) ended the split."""
    unresolved: int = 0
    """Records left failed with the whole call's reason (out of calls, or stopped)."""


_GIVE_UP = object()


class _Splitter(Generic[T]):
    def __init__(
        self,
        send: Callable[[Sequence[T]], list[WriteOutcome]],
        commit: Callable[[Sequence[T], list[WriteOutcome]], None],
        key: Callable[[T], str],
        max_calls: int,
    ) -> None:
        self.send, self.commit, self.key, self.max_calls = send, commit, key, max_calls
        self.result = Isolation()

    def fail(self, part: Sequence[T], reason: str) -> None:
        self.commit(part, [WriteOutcome(self.key(item), False, reason) for item in part])

    def give_up(self, part: Sequence[T], error: PayloadRefused) -> None:
        self.result.unresolved += len(part)
        self.fail(part, whole_call(self.result.stopped or error))

    def attempt(self, part: Sequence[T]) -> object:
        """None when written, the refusal, or _GIVE_UP (out of calls, or another error)."""
        if self.result.stopped is not None or self.result.calls >= self.max_calls:
            return _GIVE_UP
        self.result.calls += 1
        try:
            outcomes = self.send(part)
        except PayloadRefused as refused:
            return refused
        except ConnectorError as error:
            self.result.stopped = error
            return _GIVE_UP
        self.commit(part, outcomes)
        self.result.written += sum(1 for outcome in outcomes if outcome.ok)
        return None

    def resolve(self, part: Sequence[T], error: PayloadRefused) -> None:
        """`part` holds at least one record the CRM refuses (with `error`)."""
        if len(part) == 1:
            self.fail(part, str(error))
            return
        middle = (len(part) + 1) // 2
        left, right = part[:middle], part[middle:]
        first = self.attempt(left)
        if first is _GIVE_UP:
            self.give_up(part, error)
        elif first is None:  # the bad record is on the right
            self.resolve(right, error)
        else:
            assert isinstance(first, PayloadRefused)
            self.resolve(left, first)
            second = self.attempt(right)
            if second is _GIVE_UP:
                self.give_up(right, error)
            elif second is not None:
                assert isinstance(second, PayloadRefused)
                self.resolve(right, second)


def isolate(
    items: Sequence[T],
    error: PayloadRefused,
    send: Callable[[Sequence[T]], list[WriteOutcome]],
    commit: Callable[[Sequence[T], list[WriteOutcome]], None],
    key: Callable[[T], str],
) -> Isolation:
    """Write what the CRM accepts of a refused batch; every record ends committed, written or
    failed (the bad ones with the CRM's message). At most 2·⌈log2 n⌉ more calls."""
    max_calls = 2 * math.ceil(math.log2(len(items))) if len(items) > 1 else 0
    splitter = _Splitter(send, commit, key, max_calls)
    splitter.resolve(items, error)
    return splitter.result
