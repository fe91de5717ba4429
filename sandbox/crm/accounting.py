"""API-call accounting: per-endpoint counters, Salesforce's daily usage, HubSpot's windows.

sandbox.calls["salesforce.query"]      # how many times a connector asked
sandbox.calls.total("hubspot")
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

__all__ = ["CallCounter", "RollingWindow"]


class CallCounter:
    """Calls per endpoint, keyed "<api>.<endpoint>" (e.g. "salesforce.query_more")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, api: str, endpoint: str) -> None:
        with self._lock:
            self._counts[f"{api}.{endpoint}"] += 1

    def __getitem__(self, key: str) -> int:
        with self._lock:
            return self._counts[key]

    def total(self, api: str | None = None) -> int:
        with self._lock:
            return sum(n for k, n in self._counts.items() if api is None or k.startswith(api + "."))

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class RollingWindow:
    """At most `limit` events per `seconds` (wall clock), like HubSpot's TEN_SECONDLY_ROLLING."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0] >= self.seconds:
            self._events.popleft()

    def take(self) -> bool:
        """Record one event if the window has room; False when it is full."""
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            if len(self._events) >= self.limit:
                return False
            self._events.append(now)
            return True

    def remaining(self) -> int:
        with self._lock:
            self._trim(time.monotonic())
            return max(0, self.limit - len(self._events))

    def retry_after(self) -> float:
        with self._lock:
            if not self._events:
                return 0.0
            return max(0.0, self.seconds - (time.monotonic() - self._events[0]))

    def reset(self) -> None:
        with self._lock:
            self._events.clear()
