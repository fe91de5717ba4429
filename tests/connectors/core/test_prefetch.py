"""Prefetching stays exactly one item ahead, hands errors over in order and cleans up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from connectors.core.prefetch import prefetched


class Source:
    def __init__(self, count: int) -> None:
        self.count = count
        self.pulled = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[int]:
        try:
            for item in range(self.count):
                self.pulled += 1
                yield item
        finally:
            self.closed.set()


def _settle() -> None:
    time.sleep(0.05)  # lets the prefetching thread run as far ahead as it is allowed


def test_items_arrive_in_order_and_the_source_is_closed_at_the_end() -> None:
    source = Source(5)
    assert list(prefetched(iter(source))) == [0, 1, 2, 3, 4]
    assert source.closed.is_set()


def test_it_reads_one_item_ahead_and_no_further() -> None:
    source = Source(10)
    items = prefetched(iter(source))
    assert next(items) == 0
    _settle()
    assert source.pulled == 2
    assert next(items) == 1
    _settle()
    assert source.pulled == 3
    items.close()
    assert source.closed.wait(timeout=5)


def test_may_fetch_is_asked_before_every_read() -> None:
    source = Source(10)
    allowed = iter([True, True, False])
    assert list(prefetched(iter(source), may_fetch=lambda: next(allowed))) == [0, 1]
    assert source.pulled == 2


def test_an_error_comes_after_the_items_read_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 is malformed")

    received: list[int] = []
    with pytest.raises(ValueError, match="page 3 is malformed"):
        for item in prefetched(failing()):
            received.append(item)
    assert received == [1, 2]


def test_closing_early_stops_the_thread() -> None:
    source = Source(1000)
    items = prefetched(iter(source), name="early")
    next(items)
    items.close()
    assert source.closed.is_set()
    assert source.pulled <= 2
    assert not any(thread.name == "early" for thread in threading.enumerate())
