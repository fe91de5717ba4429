"""API-call accounting: every request a connector makes is counted here, and the CRM's own
quota headers tell when to stop before the daily limit is spent.

Streams read at once share one budget; each also keeps its own `Usage`, counted by whichever
thread makes the call in a context from `metered(usage)` (the engine runs each stream's
reading thread in one), so a stream's calls are its own however the streams interleave.
"""

from __future__ import annotations

import threading
from contextvars import Context, ContextVar, copy_context
from dataclasses import dataclass, field

__all__ = ["ApiBudget", "Usage", "metered"]


@dataclass
class Usage:
    """Calls and bytes of one stream."""

    calls: int = 0
    bytes_received: int = 0


_STREAM: ContextVar[Usage | None] = ContextVar("stream_usage", default=None)


def metered(usage: Usage) -> Context:
    """A copy of the current context in which every call is also counted into `usage`."""
    context = copy_context()
    context.run(_STREAM.set, usage)
    return context


@dataclass
class ApiBudget:
    """Calls and bytes spent by one run, and the daily quota as the CRM last reported it.

    `max_share` is the share of the daily quota this product may use up; once the CRM reports
    usage at or above it, `exhausted` turns true and the engine stops after the current page.
    Safe to share between threads.
    """

    max_share: float = 0.9
    calls: int = 0
    bytes_received: int = 0
    quota_used: int | None = None
    quota_limit: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, nbytes: int = 0, *, used: int | None = None, limit: int | None = None) -> None:
        with self._lock:
            self.calls += 1
            self.bytes_received += nbytes
            if used is not None and limit:
                self.quota_used, self.quota_limit = used, limit
        stream = _STREAM.get()
        if stream is not None:
            stream.calls += 1
            stream.bytes_received += nbytes

    def add_bytes(self, nbytes: int) -> None:
        """Bytes of a streamed answer, counted as they are read (its call is already counted)."""
        with self._lock:
            self.bytes_received += nbytes
        stream = _STREAM.get()
        if stream is not None:
            stream.bytes_received += nbytes

    def record_remaining(self, remaining: int, limit: int) -> None:
        """For CRMs that report what is left (HubSpot's daily headers)."""
        with self._lock:
            self.quota_used, self.quota_limit = limit - remaining, limit

    @property
    def exhausted(self) -> bool:
        if self.quota_used is None or not self.quota_limit:
            return False
        return self.quota_used >= self.max_share * self.quota_limit

    def describe(self) -> str:
        if self.quota_used is None or not self.quota_limit:
            return f"{self.calls} API calls"
        return (
            f"{self.calls} API calls; daily quota {self.quota_used:,}/{self.quota_limit:,} used "
            f"(stop at {self.max_share:.0%})"
        )
