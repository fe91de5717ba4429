"""The sandbox clock: frozen until a test advances it, or running at N times real speed.

    clock = SandboxClock(start)            # frozen at start
    clock.advance(timedelta(hours=2))      # tests move time on
    clock.set_speed(60.0)                  # demo: one real second is a sandbox minute

Listeners run after every move (the stores use this to apply future record versions).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["SandboxClock"]


class SandboxClock:
    def __init__(self, start: datetime, speed: float = 0.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the sandbox clock needs a timezone-aware start")
        self._lock = threading.Lock()
        self._base = start.astimezone(UTC)
        self._mono = time.monotonic()
        self._speed = speed
        self._listeners: list[Callable[[datetime], None]] = []

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            if self._speed == 0.0:
                return self._base
            elapsed = (time.monotonic() - self._mono) * self._speed
            return self._base + timedelta(seconds=elapsed)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the sandbox clock never runs backwards")
        return self.set(self.now() + delta)

    def set(self, moment: datetime) -> datetime:
        moment = moment.astimezone(UTC)
        with self._lock:
            current = self._base
            if self._speed:
                current += timedelta(seconds=(time.monotonic() - self._mono) * self._speed)
            if moment < current:
                raise ValueError("the sandbox clock never runs backwards")
            self._base = moment
            self._mono = time.monotonic()
        self._notify(moment)
        return moment

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            now = self._base
            if self._speed:
                now += timedelta(seconds=(time.monotonic() - self._mono) * self._speed)
            self._base = now
            self._mono = time.monotonic()
            self._speed = speed

    def on_change(self, listener: Callable[[datetime], None]) -> None:
        self._listeners.append(listener)

    def _notify(self, moment: datetime) -> None:
        for listener in self._listeners:
            listener(moment)
