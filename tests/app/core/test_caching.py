"""Bounded caches: the least recently used go first, entries expire, threads share one value."""

from __future__ import annotations

import threading
import time

import pytest

from app.core.caching import BoundedCache


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = BoundedCache[str, int]("test", size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert len(cache) == 2


def test_entries_expire_after_their_time_to_live() -> None:
    cache = BoundedCache[str, int]("test", size=10, ttl=0.05)
    assert cache.add("a", 1)
    assert not cache.add("a", 2), "kept already"
    assert cache.get("a") == 1
    time.sleep(0.06)
    assert cache.get("a") is None and "a" not in cache and len(cache) == 0
    assert cache.add("a", 2)


def test_discard_clear_and_the_reason_in_the_repr() -> None:
    cache = BoundedCache[str, int]("why it exists", size=3, ttl=10)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.discard("a")
    cache.discard("missing")
    assert "a" not in cache and cache.get("b") == 2
    cache.clear()
    assert len(cache) == 0
    assert repr(cache) == "BoundedCache('why it exists', size=3, ttl=10s)"
    with pytest.raises(ValueError):
        BoundedCache[str, int]("empty", size=0)


def test_threads_asking_at_once_share_one_value() -> None:
    cache = BoundedCache[str, object]("test", size=4)
    made: list[object] = []

    def make() -> object:
        value = object()
        made.append(value)
        time.sleep(0.01)
        return value

    found: list[object] = []
    threads = [
        threading.Thread(target=lambda: found.append(cache.get_or_put("k", make))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and all(value is made[0] for value in found)
