"""Client-side pacing, so that a sync stays inside HubSpot's rolling windows instead of
bouncing off them: every 429 costs a call and a wait.

    pacer = Pacer(limit=100, seconds=10.0)      # learns the real limit from response headers
    pacer.wait()                                # before each request
    pacer.learn(max_calls=190, interval_ms=10_000, remaining=12)

Search has a separate, smaller per-second limit and answers without rate headers, so it gets
a pacer of its own with a configured rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["Pacer"]


class Pacer:
    """A rolling window: at most `limit` calls in any `seconds`, with a safety margin."""

    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        margin: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._remaining: int | None = None
        self.limit = limit
        self.seconds = seconds
        self.waited = 0.0

    @property
    def allowance(self) -> int:
        return max(1, int(self.limit * (1 - self._margin)))

    def learn(self, max_calls: int | None, interval_ms: int | None, remaining: int | None) -> None:
        """Adopt the limit the API reports; note how much of its window is left."""
        if max_calls and max_calls > 0:
            self.limit = max_calls
        if interval_ms and interval_ms > 0:
            self.seconds = interval_ms / 1000
        self._remaining = remaining

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            horizon = now - self.seconds
            while self._calls and self._calls[0] <= horizon:
                self._calls.popleft()
            delay = 0.0
            if len(self._calls) >= self.allowance:
                # until the call that fills the window leaves it, plus a little for the trip
                delay = self._calls[len(self._calls) - self.allowance] - horizon + 0.01
            elif self._remaining is not None and self._remaining <= 1:
                # others share the window: give it one slot's worth of time
                delay = self.seconds / max(1, self.limit)
            if delay > 0:
                self.waited += delay
                self._sleep(delay)
                now = self._clock()
            self._remaining = None
            self._calls.append(now)
