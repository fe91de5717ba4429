"""Caches a process keeps: each with a bound, a reason, and a lock.

A cache without a bound is a memory leak that waits for a large customer; one without a
stated reason is one nobody dares to remove. `BoundedCache` holds at most `size` entries
(least recently used go first) and, with `ttl`, forgets an entry `ttl` seconds after it was
stored (`time.monotonic`). Every operation holds the cache's lock, so one cache can be
shared by the API's worker threads and the refresh threads alike. The eviction itself is
cachetools' (`LRUCache`, `TTLCache`).

    _runtimes = BoundedCache[str, Runtime]("compiling a ruleset takes a while", size=32)
    runtime = _runtimes.get(key)
    if runtime is None:
        runtime = compile(...)
        _runtimes.put(key, runtime)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import Cache, LRUCache, TTLCache

__all__ = ["BoundedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most `size` entries, least recently used evicted first; each kept `ttl` seconds
    at most when given. `reason` says why the cache exists (shown in its repr)."""

    def __init__(self, reason: str, *, size: int, ttl: float | None = None) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.reason = reason
        self.size = size
        self.ttl = ttl
        self._entries: Cache[K, V] = LRUCache(size) if ttl is None else TTLCache(size, ttl)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        ttl = "" if self.ttl is None else f", ttl={self.ttl:g}s"
        return f"BoundedCache({self.reason!r}, size={self.size}{ttl})"

    def get(self, key: K) -> V | None:
        """The value kept for `key` (now the most recently used), or None."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value

    def get_or_put(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for `key`, or `make()` kept now; `make` runs under the lock, so
        two threads asking at once share one value (keep `make` quick)."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                found = make()
                self._entries[key] = found
            return found

    def add(self, key: K, value: V) -> bool:
        """Keep `value` unless `key` is kept already; whether it was added."""
        with self._lock:
            if key in self._entries:
                return False
            self._entries[key] = value
            return True

    def discard(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            if isinstance(self._entries, TTLCache):
                self._entries.expire()
            return len(self._entries)
