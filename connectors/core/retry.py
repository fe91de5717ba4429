"""Bounded retries with exponential backoff and jitter, honouring Retry-After, and stoppable.

    policy = RetryPolicy(attempts=5, stop=worker_stopping)      # a threading.Event
    page = policy.call(fetch_page)

What is retried is decided by `classify.retry_class`: rate limits and transient faults with
backoff (`attempts` in all), an unreachable host once more at once (`quick_attempts`), and
nothing else — a permanent failure is a real answer. Every wait is a wait on `stop`: a process
asked to stop wakes at once and raises `Interrupted` instead of making another attempt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, wait_exponential_jitter

from connectors.core.classify import retry_class
from connectors.core.errors import Interrupted, RateLimited

__all__ = ["PROCESS_STOPPING", "RetryPolicy"]

T = TypeVar("T")
log = logging.getLogger(__name__)

PROCESS_STOPPING = threading.Event()
"""Set when the whole process is asked to stop (the API server's SIGTERM): a policy without a
stop of its own wakes on it, so no request keeps a shutting-down server waiting to retry."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    quick_attempts: int = 2
    quick_wait: float = 1.0
    stop: threading.Event | None = field(default=None, compare=False)

    def with_stop(self, stop: threading.Event | None) -> RetryPolicy:
        """This policy, waking from its waits when `stop` is set."""
        return RetryPolicy(
            self.attempts,
            self.initial_wait,
            self.max_wait,
            self.jitter,
            self.quick_attempts,
            self.quick_wait,
            stop,
        )

    @staticmethod
    def _error(state: RetryCallState) -> BaseException | None:
        return state.outcome.exception() if state.outcome else None

    def _retry(self, state: RetryCallState) -> bool:
        error = self._error(state)
        if error is None:
            return False
        kind = retry_class(error)
        if kind == "backoff":
            return state.attempt_number < self.attempts
        if kind == "quick":
            return state.attempt_number < self.quick_attempts
        return False

    def _wait(self, state: RetryCallState) -> float:
        error = self._error(state)
        if error is not None and retry_class(error) == "quick":
            return self.quick_wait
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait * 4)
        backoff = wait_exponential_jitter(
            multiplier=self.initial_wait, max=self.max_wait, jitter=self.jitter
        )
        return float(backoff(state))

    def _sleep(self, seconds: float) -> None:
        self.pause(seconds, "to retry a CRM call")

    def pause(self, seconds: float, why: str) -> None:
        """Wait `seconds` (for the CRM to get on with something), waking at once on a stop."""
        stop = self.stop or PROCESS_STOPPING
        if stop.wait(seconds):
            raise Interrupted(f"stopped on request while waiting {why}")

    @staticmethod
    def _log(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "retrying after a CRM error",
            extra={"attempt": state.attempt_number, "error": str(error)},
        )

    def call(self, fn: Callable[[], T]) -> T:
        if (self.stop or PROCESS_STOPPING).is_set():
            raise Interrupted("stopped on request before a CRM call")
        retrying = Retrying(
            retry=self._retry,
            stop=lambda _state: False,  # `_retry` bounds the attempts of each class
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._log,
            reraise=True,
        )
        return retrying(fn)
